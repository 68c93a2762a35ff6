<?php
// php-fpm behind Varnish: the same body as worker.php's /page, cacheable by Varnish (max-age).
header('Content-Type: text/plain');
header('Cache-Control: public, max-age=3600');
echo str_repeat('x', (int) (getenv('BODY_BYTES') ?: 4096));
