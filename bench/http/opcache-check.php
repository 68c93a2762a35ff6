<?php
// Served once by run.sh through nginx + php-fpm before measuring, to prove that OPcache is
// really active there with timestamp validation off (the fair baseline), not just configured.
header('Content-Type: text/plain');
$status = function_exists('opcache_get_status') ? opcache_get_status(false) : false;
echo ($status !== false && $status['opcache_enabled'] && !ini_get('opcache.validate_timestamps'))
    ? 'opcache=on' : 'opcache=off';
