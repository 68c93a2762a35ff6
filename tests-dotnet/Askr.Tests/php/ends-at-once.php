<?php
// A worker script that returns without ever calling take_request(): running it again at once
// would spin; the runtime must treat it as a boot failure and let the supervisor back off.
echo "this script never takes a request\n";
