<?php
// A worker script whose "application" fails to boot: the runtime must report it and the
// supervisor must keep restarting it with backoff, without crashing itself.
undefined_boot_function();
