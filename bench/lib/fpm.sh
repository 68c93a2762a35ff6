# shellcheck shell=bash disable=SC2034  # sets FPM_PID, NGINX_PID, STATUS[fpm] for the scripts
# nginx + php-fpm, the peer of bench/http and bench/laravel (sourced after common.sh, not run).
# Both run from a private directory: php-fpm with a static pool, OPcache on and no timestamp
# checks; nginx without access log and with long client keep-alive. As root, both run as root
# (php-fpm needs -R for that): no www-data access to the private temp dir is needed. As another
# user, both simply run as that user.

# fpm_conf DIR CHILDREN [POOL_LINES]: writes DIR/php-fpm.conf (POOL_LINES: extra pool settings,
# e.g. env[...] lines).
fpm_conf() {
    local dir=$1 children=$2 extra=${3:-} user=''
    ((EUID == 0)) && user=$'user = root\ngroup = root'
    cat >"$dir/php-fpm.conf" <<CONF
[global]
pid = $dir/php-fpm.pid
error_log = $dir/php-fpm.log
log_level = warning
daemonize = no

[bench]
$user
listen = $dir/php-fpm.sock
listen.backlog = 4096
pm = static
pm.max_children = $children
pm.max_requests = 0
$extra
php_admin_value[opcache.enable] = 1
php_admin_value[opcache.validate_timestamps] = 0
php_admin_value[display_errors] = 0
CONF
}

# nginx_conf_head DIR TYPES: prints the start of an nginx.conf for DIR, up to and including the
# opening of the http block (TYPES: its content-type lines); the caller adds its server block
# and the closing brace.
nginx_conf_head() {
    local dir=$1 types=$2
    ((EUID == 0)) && echo 'user root root;'
    cat <<CONF
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 4096; }
http {
    $types
    access_log off;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path $dir/client_body;
    fastcgi_temp_path $dir/fastcgi;
    proxy_temp_path $dir/proxy;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
CONF
}

# fpm_nginx_start DIR URL EXPECTED OPCACHE_URL: starts php-fpm and nginx from DIR's configs,
# waits until URL answers EXPECTED and checks that OPCACHE_URL (bench/http/opcache-check.php)
# says OPcache is on. Sets FPM_PID and NGINX_PID; on failure reports it (STATUS[fpm]), stops
# both and returns 1.
fpm_nginx_start() {
    local dir=$1 url=$2 expected=$3 opcache_url=$4
    local fpm_args=(-F -y "$dir/php-fpm.conf" -d opcache.enable=1 -d opcache.validate_timestamps=0)
    ((EUID == 0)) && fpm_args+=(-R)
    start_server "$dir/php-fpm.out" php-fpm8.2 "${fpm_args[@]}"
    FPM_PID=$SERVER_PID
    local deadline=$((SECONDS + STARTUP_TIMEOUT))
    until [[ -S $dir/php-fpm.sock ]]; do
        if ! is_alive "$FPM_PID" || ((SECONDS >= deadline)); then
            cat "$dir/php-fpm.log" >>"$dir/php-fpm.out" 2>/dev/null || true
            startup_failed fpm "$dir/php-fpm.out"; return 1
        fi
        sleep 0.1
    done
    start_server "$dir/nginx.out" nginx -p "$dir" -e "$dir/nginx-error.log" -c "$dir/nginx.conf" -g 'daemon off;'
    NGINX_PID=$SERVER_PID
    if ! wait_http "$NGINX_PID" "$url" "$expected" "$STARTUP_TIMEOUT"; then
        cat "$dir/nginx-error.log" "$dir/php-fpm.log" >>"$dir/nginx.out" 2>/dev/null || true
        startup_failed fpm "$dir/nginx.out"; fpm_nginx_stop; return 1
    fi
    local oc
    oc=$(curl -fsS -m 5 "$opcache_url" || true)
    if [[ $oc != opcache=on ]]; then
        STATUS[fpm]="failed: OPcache not active in php-fpm ($oc)"; log "fpm: ${STATUS[fpm]}"
        fpm_nginx_stop; return 1
    fi
}

fpm_nginx_stop() { stop_server "$NGINX_PID"; stop_server "$FPM_PID"; }

# fpm_versions: "nginx X + php-fpm Y", for the log.
fpm_versions() { echo "nginx $(nginx -v 2>&1 | sed 's|.*/||') + php-fpm $(php-fpm8.2 -v | awk 'NR==1{print $2}')"; }
