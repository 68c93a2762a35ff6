<?php
// Hello-world for nginx + php-fpm (bench/http/run.sh). Equivalent of hello-worker.php.
header('Content-Type: text/plain');
echo 'Hello, World!';
