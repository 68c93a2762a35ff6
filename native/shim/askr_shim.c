/*
 * askr shim: embeds PHP with its own SAPI and registers the Ephpm\Octane natives.
 * See askr_shim.h for the contract with C#, and docs/natives.md for the PHP side.
 */
#define _GNU_SOURCE
#include "askr_shim.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <php.h>
#include <php_main.h>
#include <php_variables.h>
#include <php_ini.h>
#include <SAPI.h>
#include <zend_exceptions.h>
#include <zend_interfaces.h>
#include <ext/standard/info.h>
#include <ext/spl/spl_exceptions.h>

/* The natives' argument info, function table and class entry, generated at the build from
 * php/octane-driver/stubs/natives.php by PHP's gen_stub.php (docs/natives.md, "Adding a native"). */
#include "natives_arginfo.h"
#include "askr_layout.h"

static askr_callbacks g_cb;
static char *g_extra_ini;

/* Where the current request stands, from PHP's point of view. */
enum askr_request_state {
    ASKR_NONE = 0,   /* no request taken, or answered and done */
    ASKR_OPEN,       /* taken, not answered yet */
    ASKR_STREAMING,  /* answered with a streamed response that is still open */
};
static enum askr_request_state g_state = ASKR_NONE;

/* Tick callbacks registered with on_tick(), run between requests inside take_request(). */
typedef struct askr_tick {
    zend_long interval_ms;
    int64_t next_due_ms;
    zval callable;
} askr_tick;
static askr_tick *g_ticks;
static size_t g_tick_count;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------- SAPI ---------- */

static size_t askr_ub_write(const char *str, size_t len)
{
    if (g_cb.output) {
        g_cb.output(str, (int64_t)len);
    }
    return len;
}

static void askr_flush(void *server_context)
{
    (void)server_context;
}

static int askr_send_headers(sapi_headers_struct *sapi_headers)
{
    (void)sapi_headers;
    return SAPI_HEADER_SENT_SUCCESSFULLY;
}

/* header() calls are not kept: responses go through send_response() (docs/natives.md). */
static int askr_header_handler(sapi_header_struct *h, sapi_header_op_enum op, sapi_headers_struct *s)
{
    (void)h; (void)op; (void)s;
    return 0;
}

static size_t askr_read_post(char *buf, size_t count)
{
    (void)buf; (void)count;
    return 0;
}

static char *askr_read_cookies(void)
{
    return NULL;
}

static void askr_register_variables(zval *track_vars_array)
{
    php_import_environment_variables(track_vars_array);
    if (SG(request_info).path_translated) {
        const char *p = SG(request_info).path_translated;
        php_register_variable("PHP_SELF", p, track_vars_array);
        php_register_variable("SCRIPT_NAME", p, track_vars_array);
        php_register_variable("SCRIPT_FILENAME", p, track_vars_array);
    }
}

static void askr_log_message(const char *message, int syslog_type_int)
{
    if (g_cb.log) {
        g_cb.log(syslog_type_int, message, (int64_t)strlen(message));
    }
}

static int askr_sapi_startup(sapi_module_struct *sapi_module);
static int askr_sapi_deactivate(void)
{
    return SUCCESS;
}

static sapi_module_struct askr_sapi_module = {
    "cli-server",                /* name: see docs/natives.md, "The SAPI name" */
    "askr",                      /* pretty name */
    askr_sapi_startup,           /* startup */
    php_module_shutdown_wrapper, /* shutdown */
    NULL,                        /* activate */
    askr_sapi_deactivate,        /* deactivate */
    askr_ub_write,               /* unbuffered write */
    askr_flush,                  /* flush */
    NULL,                        /* get uid */
    NULL,                        /* getenv */
    php_error,                   /* error handler */
    askr_header_handler,         /* header handler */
    askr_send_headers,           /* send headers handler */
    NULL,                        /* send header handler */
    askr_read_post,              /* read POST data */
    askr_read_cookies,           /* read Cookies */
    askr_register_variables,     /* register server variables */
    askr_log_message,            /* Log message */
    NULL,                        /* Get request time */
    NULL,                        /* Child terminate */
    STANDARD_SAPI_MODULE_PROPERTIES
};

/* ---------- natives ---------- */

/* Turns a PHP header array (name => string|string[]) into (name, value) pairs.
 * The strings stay owned by *owned (released by free_pairs). Returns false with an
 * exception thrown when a name or value is not a string or scalar. */
typedef struct askr_pairs {
    askr_str *items;
    int64_t count;     /* pairs */
    zend_string **owned;
    size_t owned_count;
} askr_pairs;

static void free_pairs(askr_pairs *p)
{
    for (size_t i = 0; i < p->owned_count; i++) {
        zend_string_release(p->owned[i]);
    }
    if (p->owned) efree(p->owned);
    if (p->items) efree(p->items);
    memset(p, 0, sizeof(*p));
}

static bool header_value_ok(zend_string *v)
{
    /* CR and LF would let a value inject header lines (RFC 9110 5.5). */
    return memchr(ZSTR_VAL(v), '\r', ZSTR_LEN(v)) == NULL && memchr(ZSTR_VAL(v), '\n', ZSTR_LEN(v)) == NULL;
}

static bool add_pair(askr_pairs *p, size_t *cap, zend_string *name, zval *value)
{
    zend_string *v = zval_try_get_string(value);
    if (!v) {
        return false;
    }
    if (!header_value_ok(v) || !header_value_ok(name)) {
        zend_string_release(v);
        zend_value_error("Header \"%s\" contains a CR or LF character", ZSTR_VAL(name));
        return false;
    }
    if ((size_t)p->count == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        p->items = erealloc(p->items, sizeof(askr_str) * 2 * *cap);
        p->owned = erealloc(p->owned, sizeof(zend_string *) * *cap);
    }
    p->owned[p->owned_count++] = v;
    p->items[2 * p->count].ptr = ZSTR_VAL(name);
    p->items[2 * p->count].len = (int64_t)ZSTR_LEN(name);
    p->items[2 * p->count + 1].ptr = ZSTR_VAL(v);
    p->items[2 * p->count + 1].len = (int64_t)ZSTR_LEN(v);
    p->count++;
    return true;
}

static bool collect_headers(HashTable *headers, askr_pairs *out)
{
    size_t cap = 0;
    zend_string *name;
    zend_ulong index;
    zval *value;
    memset(out, 0, sizeof(*out));
    ZEND_HASH_FOREACH_KEY_VAL(headers, index, name, value) {
        (void)index;
        if (!name) {
            zend_type_error("Header names must be strings, got an integer key");
            free_pairs(out);
            return false;
        }
        ZVAL_DEREF(value);
        if (Z_TYPE_P(value) == IS_ARRAY) {
            zval *item;
            ZEND_HASH_FOREACH_VAL(Z_ARRVAL_P(value), item) {
                ZVAL_DEREF(item);
                if (!add_pair(out, &cap, name, item)) {
                    free_pairs(out);
                    return false;
                }
            } ZEND_HASH_FOREACH_END();
        } else if (!add_pair(out, &cap, name, value)) {
            free_pairs(out);
            return false;
        }
    } ZEND_HASH_FOREACH_END();
    return true;
}

static void throw_send_error(int32_t rc, const char *fn)
{
    switch (rc) {
    case ASKR_SEND_NO_REQUEST:
        zend_throw_error(NULL, "Ephpm\\Octane\\%s(): there is no request to answer", fn);
        break;
    default:
        zend_throw_error(NULL, "Ephpm\\Octane\\%s(): the runtime failed to send the response (code %d)", fn, rc);
        break;
    }
}

static void finish_streaming(void)
{
    if (g_state == ASKR_STREAMING) {
        g_cb.chunk(NULL, 0, 1);
    }
    g_state = ASKR_NONE;
}

/* Runs the due tick callbacks. An exception from one is reported as a warning and cleared,
 * except exit() (an unwind exit), which is left to propagate. Returns false in that case. */
static bool run_due_ticks(void)
{
    int64_t now = now_ms();
    for (size_t i = 0; i < g_tick_count; i++) {
        askr_tick *t = &g_ticks[i];
        if (t->next_due_ms > now) {
            continue;
        }
        t->next_due_ms = now + t->interval_ms;
        zval retval;
        ZVAL_UNDEF(&retval);
        call_user_function(NULL, NULL, &t->callable, &retval, 0, NULL);
        zval_ptr_dtor(&retval);
        if (EG(exception)) {
            if (zend_is_unwind_exit(EG(exception)) || zend_is_graceful_exit(EG(exception))) {
                return false;
            }
            /* Reports "Uncaught ..." as a warning; takes the exception off EG and releases it. */
            zend_exception_error(EG(exception), E_WARNING);
        }
    }
    return true;
}

static int64_t tick_timeout_ms(void)
{
    if (g_tick_count == 0) {
        return -1;
    }
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < g_tick_count; i++) {
        if (g_ticks[i].next_due_ms < next) next = g_ticks[i].next_due_ms;
    }
    int64_t wait = next - now_ms();
    return wait < 0 ? 0 : wait;
}

static void add_pairs_to_array(zval *arr, const askr_str *pairs, int64_t count)
{
    for (int64_t i = 0; i < count; i++) {
        const askr_str *k = &pairs[2 * i];
        const askr_str *v = &pairs[2 * i + 1];
        zval zv;
        ZVAL_STRINGL_FAST(&zv, v->ptr, (size_t)v->len);
        zend_symtable_str_update(Z_ARRVAL_P(arr), k->ptr, (size_t)k->len, &zv);
    }
}

ZEND_FUNCTION(Ephpm_Octane_take_request)
{
    ZEND_PARSE_PARAMETERS_NONE();
    if (g_state == ASKR_STREAMING) {
        finish_streaming();
    }
    g_state = ASKR_NONE;
    for (;;) {
        askr_envelope env;
        memset(&env, 0, sizeof(env));
        int32_t rc = g_cb.take(tick_timeout_ms(), &env);
        if (rc == ASKR_TAKE_REQUEST) {
            array_init_size(return_value, 7);
            add_assoc_long_ex(return_value, "id", 2, (zend_long)env.id);
            add_assoc_stringl_ex(return_value, "method", 6, env.method.ptr, (size_t)env.method.len);
            add_assoc_stringl_ex(return_value, "uri", 3, env.uri.ptr, (size_t)env.uri.len);
            add_assoc_stringl_ex(return_value, "protocol", 8, env.protocol.ptr, (size_t)env.protocol.len);
            zval headers, server;
            array_init_size(&headers, (uint32_t)env.header_count);
            add_pairs_to_array(&headers, env.headers, env.header_count);
            add_assoc_zval_ex(return_value, "headers", 7, &headers);
            array_init_size(&server, (uint32_t)env.server_count);
            add_pairs_to_array(&server, env.server, env.server_count);
            add_assoc_zval_ex(return_value, "server", 6, &server);
            add_assoc_stringl_ex(return_value, "body", 4, env.body.ptr ? env.body.ptr : "", (size_t)env.body.len);
            g_state = ASKR_OPEN;
            /* A timeout the runtime signalled for the previous request (askr_php_interrupt) must not
             * fail this one: C# switches the current request under the same lock it interrupts
             * under, so any interrupt pending now was meant for a request that has ended. */
            zend_atomic_bool_store_ex(&EG(timed_out), false);
            return;
        }
        if (rc == ASKR_TAKE_SHUTDOWN) {
            RETURN_NULL();
        }
        if (rc != ASKR_TAKE_TIMEOUT) {
            zend_throw_error(NULL, "Ephpm\\Octane\\take_request(): the runtime failed (code %d)", rc);
            RETURN_THROWS();
        }
        if (!run_due_ticks()) {
            RETURN_THROWS();
        }
    }
}

static bool check_status(zend_long status)
{
    if (status < 100 || status > 999) {
        zend_argument_value_error(1, "must be an HTTP status code between 100 and 999, " ZEND_LONG_FMT " given", status);
        return false;
    }
    return true;
}

static bool check_open(const char *fn)
{
    if (g_state == ASKR_OPEN) {
        return true;
    }
    if (g_state == ASKR_NONE) {
        zend_throw_error(NULL, "Ephpm\\Octane\\%s(): the current request has already been answered, or no request was taken", fn);
    } else {
        zend_throw_error(NULL, "Ephpm\\Octane\\%s(): the current request is being answered by a streamed response", fn);
    }
    return false;
}

ZEND_FUNCTION(Ephpm_Octane_send_response)
{
    zend_long status;
    HashTable *headers;
    zend_string *body = NULL;
    bool stream = false;
    ZEND_PARSE_PARAMETERS_START(2, 4)
        Z_PARAM_LONG(status)
        Z_PARAM_ARRAY_HT(headers)
        Z_PARAM_OPTIONAL
        Z_PARAM_STR(body)
        Z_PARAM_BOOL(stream)
    ZEND_PARSE_PARAMETERS_END();

    if (!check_status(status) || !check_open("send_response")) {
        RETURN_THROWS();
    }
    askr_pairs pairs;
    if (!collect_headers(headers, &pairs)) {
        RETURN_THROWS();
    }
    int32_t rc = g_cb.send((int32_t)status, pairs.items, pairs.count,
                           body ? ZSTR_VAL(body) : "", body ? (int64_t)ZSTR_LEN(body) : 0,
                           stream ? ASKR_SEND_FLAG_STREAM : 0);
    free_pairs(&pairs);
    if (rc < 0) {
        g_state = ASKR_NONE;
        throw_send_error(rc, "send_response");
        RETURN_THROWS();
    }
    g_state = (stream && rc == ASKR_SEND_OK) ? ASKR_STREAMING : ASKR_NONE;
    if (stream && rc == ASKR_SEND_CLIENT_GONE) {
        /* Keep accepting (and dropping) chunks so the app's streaming loop ends normally. */
        g_state = ASKR_STREAMING;
    }
}

ZEND_FUNCTION(Ephpm_Octane_send_chunk)
{
    zend_string *chunk;
    ZEND_PARSE_PARAMETERS_START(1, 1)
        Z_PARAM_STR(chunk)
    ZEND_PARSE_PARAMETERS_END();
    if (g_state != ASKR_STREAMING) {
        zend_throw_error(NULL, "Ephpm\\Octane\\send_chunk(): no streamed response is open (call send_response() with \\$stream = true first)");
        RETURN_THROWS();
    }
    if (ZSTR_LEN(chunk) == 0) {
        return;
    }
    int32_t rc = g_cb.chunk(ZSTR_VAL(chunk), (int64_t)ZSTR_LEN(chunk), 0);
    if (rc < 0) {
        g_state = ASKR_NONE;
        throw_send_error(rc, "send_chunk");
        RETURN_THROWS();
    }
}

ZEND_FUNCTION(Ephpm_Octane_finish_response)
{
    ZEND_PARSE_PARAMETERS_NONE();
    if (g_state == ASKR_STREAMING) {
        finish_streaming();
    }
}

ZEND_FUNCTION(Ephpm_Octane_send_file)
{
    zend_long status, offset = 0, length = -1;
    HashTable *headers;
    zend_string *path;
    ZEND_PARSE_PARAMETERS_START(3, 5)
        Z_PARAM_LONG(status)
        Z_PARAM_ARRAY_HT(headers)
        Z_PARAM_PATH_STR(path)
        Z_PARAM_OPTIONAL
        Z_PARAM_LONG(offset)
        Z_PARAM_LONG(length)
    ZEND_PARSE_PARAMETERS_END();
    if (!check_status(status)) {
        RETURN_THROWS();
    }
    if (offset < 0) {
        zend_argument_value_error(4, "must be greater than or equal to 0");
        RETURN_THROWS();
    }
    if (length < -1) {
        zend_argument_value_error(5, "must be -1 (to the end of the file) or a length in bytes");
        RETURN_THROWS();
    }
    if (!check_open("send_file")) {
        RETURN_THROWS();
    }
    askr_pairs pairs;
    if (!collect_headers(headers, &pairs)) {
        RETURN_THROWS();
    }
    int32_t rc = g_cb.file((int32_t)status, pairs.items, pairs.count, ZSTR_VAL(path), (int64_t)ZSTR_LEN(path),
                           (int64_t)offset, (int64_t)length);
    free_pairs(&pairs);
    if (rc == ASKR_SEND_FILE_ERROR) {
        zend_throw_error(NULL, "Ephpm\\Octane\\send_file(): cannot open \"%s\" for reading, or the range is outside the file", ZSTR_VAL(path));
        RETURN_THROWS();
    }
    if (rc < 0) {
        g_state = ASKR_NONE;
        throw_send_error(rc, "send_file");
        RETURN_THROWS();
    }
    g_state = ASKR_NONE;
}

ZEND_FUNCTION(Ephpm_Octane_on_tick)
{
    zend_long interval;
    zval *callable;
    ZEND_PARSE_PARAMETERS_START(2, 2)
        Z_PARAM_LONG(interval)
        Z_PARAM_ZVAL(callable)
    ZEND_PARSE_PARAMETERS_END();
    if (interval < 1) {
        zend_argument_value_error(1, "must be at least 1 (milliseconds)");
        RETURN_THROWS();
    }
    if (!zend_is_callable(callable, 0, NULL)) {
        zend_argument_type_error(2, "must be a valid callback");
        RETURN_THROWS();
    }
    g_ticks = erealloc(g_ticks, sizeof(askr_tick) * (g_tick_count + 1));
    askr_tick *t = &g_ticks[g_tick_count++];
    t->interval_ms = interval;
    t->next_due_ms = now_ms() + interval;
    ZVAL_COPY(&t->callable, callable);
}

/* ---------- shared tables ---------- */

/* The schema of an opened table, kept for this PHP request (released at request shutdown). */
typedef struct askr_shim_column {
    zend_string *name;
    int32_t type;
    int32_t size;
    int32_t offset;
} askr_shim_column;

typedef struct askr_shim_table {
    zend_string *name;
    int64_t rows;
    int64_t column_count;
    int64_t column_bytes;
    askr_shim_column *columns;
} askr_shim_table;

static askr_shim_table *g_tables;   /* indexed by handle */
static size_t g_tables_cap;

/* A table handle as Ephpm\Octane\Table keeps it: no error, the caller says what is wrong. */
static zend_always_inline askr_shim_table *table_at(zend_long handle)
{
    if (UNEXPECTED(handle < 1 || (size_t)handle >= g_tables_cap || !g_tables[handle].name)) return NULL;
    return &g_tables[handle];
}

static askr_shim_table *table_of(zend_long handle)
{
    askr_shim_table *t = table_at(handle);
    if (!t) zend_argument_value_error(1, "is not a table handle from Ephpm\\Octane\\table_open()");
    return t;
}

/* Keys are 1 to ASKR_TABLE_LIMIT_KEY_BYTES bytes. The error names the native (fn) and its $key argument, also when an
 * Ephpm\Octane\Table method is what was called: the message is the native's, whichever way in. */
static zend_always_inline bool key_ok(zend_string *key, const char *fn)
{
    if (UNEXPECTED(ZSTR_LEN(key) == 0 || ZSTR_LEN(key) > ASKR_TABLE_LIMIT_KEY_BYTES)) {
        zend_value_error("Ephpm\\Octane\\%s(): Argument #2 ($key) must be a key of 1 to " ZEND_TOSTR(ASKR_TABLE_LIMIT_KEY_BYTES) " bytes, %zu bytes given", fn, ZSTR_LEN(key));
        return false;
    }
    return true;
}

static void release_tables(void)
{
    for (size_t i = 0; i < g_tables_cap; i++) {
        askr_shim_table *t = &g_tables[i];
        if (t->name) zend_string_release(t->name);
        for (int64_t c = 0; c < t->column_count; c++) zend_string_release(t->columns[c].name);
        if (t->columns) efree(t->columns);
    }
    if (g_tables) efree(g_tables);
    g_tables = NULL;
    g_tables_cap = 0;
}

static void column_value(const askr_shim_column *c, const uint8_t *area, zval *out)
{
    const uint8_t *p = area + c->offset;
    switch (c->type) {
    case ASKR_COLUMN_INT: {
        int64_t v;
        memcpy(&v, p, sizeof v);
        ZVAL_LONG(out, (zend_long)v);
        break;
    }
    case ASKR_COLUMN_FLOAT: {
        double v;
        memcpy(&v, p, sizeof v);
        ZVAL_DOUBLE(out, v);
        break;
    }
    default: {
        int32_t len;
        memcpy(&len, p, sizeof len);
        if (len < 0) len = 0;
        if (len > c->size) len = c->size;
        ZVAL_STRINGL_FAST(out, (const char *)p + 4, (size_t)len);
        break;
    }
    }
}

static void row_to_array(const askr_shim_table *t, const uint8_t *area, zval *out)
{
    array_init_size(out, (uint32_t)t->column_count);
    for (int64_t i = 0; i < t->column_count; i++) {
        zval v;
        column_value(&t->columns[i], area, &v);
        zend_hash_update(Z_ARRVAL_P(out), t->columns[i].name, &v);
    }
}

static int64_t column_index_slow(const askr_shim_table *t, zend_string *name)
{
    zend_ulong h = zend_string_hash_val(name);
    for (int64_t i = 0; i < t->column_count; i++) {
        zend_string *c = t->columns[i].name;
        if (ZSTR_H(c) == h && zend_string_equal_content(c, name)) return i;
    }
    return -1;
}

/* The column names are interned at table_open, so a name written in the script (an interned
 * literal) is usually the very same zend_string: compared by pointer first, then by hash and bytes. */
static zend_always_inline int64_t column_index(const askr_shim_table *t, zend_string *name)
{
    for (int64_t i = 0; i < t->column_count; i++) {
        if (t->columns[i].name == name) return i;
    }
    return column_index_slow(t, name);
}

static void throw_table_status(const askr_shim_table *t, int32_t rc)
{
    switch (rc) {
    case ASKR_TABLE_FULL:
        zend_throw_exception_ex(spl_ce_RuntimeException, 0,
            "Table [%s] is full: all %" PRId64 " rows are in use. Declare more rows in config/octane.php ('%s:rows').",
            ZSTR_VAL(t->name), t->rows, ZSTR_VAL(t->name));
        break;
    case ASKR_TABLE_BAD_KEY:
        zend_value_error("Table keys must be 1 to " ZEND_TOSTR(ASKR_TABLE_LIMIT_KEY_BYTES) " bytes");
        break;
    case ASKR_TABLE_NOT_NUMERIC:
        zend_value_error("Only int and float columns of table [%s] can be incremented", ZSTR_VAL(t->name));
        break;
    case ASKR_TABLE_NO_COLUMN:
        zend_value_error("Table [%s] has no such column", ZSTR_VAL(t->name));
        break;
    default:
        zend_throw_exception_ex(spl_ce_RuntimeException, 0, "Table [%s]: the runtime failed (code %d)", ZSTR_VAL(t->name), rc);
        break;
    }
}

ZEND_FUNCTION(Ephpm_Octane_table_open)
{
    zend_string *name;
    ZEND_PARSE_PARAMETERS_START(1, 1)
        Z_PARAM_STR(name)
    ZEND_PARSE_PARAMETERS_END();
    askr_table_info info;
    memset(&info, 0, sizeof info);
    int32_t rc = g_cb.table_open ? g_cb.table_open(ZSTR_VAL(name), (int64_t)ZSTR_LEN(name), &info) : ASKR_TABLE_NO_STORE;
    if (rc == ASKR_TABLE_NO_STORE) {
        zend_throw_exception_ex(spl_ce_RuntimeException, 0,
            "Table [%s] cannot be opened: this askr server has no tables (start it with --tables, as `php artisan octane:start --server=askr` does)", ZSTR_VAL(name));
        RETURN_THROWS();
    }
    if (rc != ASKR_TABLE_OK) {
        zend_throw_exception_ex(spl_ce_InvalidArgumentException, 0, "Table [%s] is not declared (config/octane.php 'tables')", ZSTR_VAL(name));
        RETURN_THROWS();
    }
    if ((size_t)info.handle >= g_tables_cap) {
        size_t cap = (size_t)info.handle + 8;
        g_tables = erealloc(g_tables, sizeof(askr_shim_table) * cap);
        memset(g_tables + g_tables_cap, 0, sizeof(askr_shim_table) * (cap - g_tables_cap));
        g_tables_cap = cap;
    }
    askr_shim_table *t = &g_tables[info.handle];
    if (!t->name) {
        t->name = zend_string_copy(name);
        t->rows = info.rows;
        t->column_count = info.column_count;
        t->column_bytes = info.column_bytes;
        t->columns = ecalloc((size_t)(info.column_count ? info.column_count : 1), sizeof(askr_shim_column));
        for (int64_t i = 0; i < info.column_count; i++) {
            const askr_column *c = &info.columns[i];
            t->columns[i].name = zend_new_interned_string(zend_string_init(c->name.ptr, (size_t)c->name.len, 0));
            zend_string_hash_val(t->columns[i].name);
            t->columns[i].type = c->type;
            t->columns[i].size = c->size;
            t->columns[i].offset = c->offset;
        }
    }
    array_init_size(return_value, 3);
    add_assoc_long_ex(return_value, "handle", 6, (zend_long)info.handle);
    add_assoc_long_ex(return_value, "rows", 4, (zend_long)t->rows);
    zval columns;
    array_init_size(&columns, (uint32_t)t->column_count);
    for (int64_t i = 0; i < t->column_count; i++) {
        zval col;
        array_init_size(&col, 2);
        add_assoc_long_ex(&col, "type", 4, t->columns[i].type);
        add_assoc_long_ex(&col, "size", 4, t->columns[i].size);
        zend_hash_update(Z_ARRVAL(columns), t->columns[i].name, &col);
    }
    add_assoc_zval_ex(return_value, "columns", 7, &columns);
}

/* The operations, shared by the natives (Ephpm\Octane\table_*) and the methods of
 * Ephpm\Octane\Table. Each either sets return_value or throws (EG(exception)). */

static void table_get_op(zend_long handle, const askr_shim_table *t, zend_string *key, zend_string *column, zval *return_value)
{
    if (!key_ok(key, "table_get")) return;
    const uint8_t *area = NULL;
    int32_t rc = g_cb.table_get(handle, ZSTR_VAL(key), (int64_t)ZSTR_LEN(key), &area);
    if (rc != ASKR_TABLE_FOUND) {
        if (rc < 0) { throw_table_status(t, rc); return; }
        RETURN_FALSE;
    }
    if (column) {
        int64_t i = column_index(t, column);
        if (i < 0) RETURN_FALSE;
        column_value(&t->columns[i], area, return_value);
        return;
    }
    row_to_array(t, area, return_value);
}

static void table_set_op(zend_long handle, const askr_shim_table *t, zend_string *key, HashTable *row, zval *return_value)
{
    if (!key_ok(key, "table_set")) return;
    uint8_t stack_area[1024];
    uint8_t *area = t->column_bytes <= (int64_t)sizeof stack_area ? stack_area : emalloc((size_t)t->column_bytes);
    uint64_t present = 0;
    zend_string *name;
    zval *value;
    ZEND_HASH_FOREACH_STR_KEY_VAL(row, name, value) {
        if (!name) continue;
        int64_t i = column_index(t, name);
        if (i < 0) continue; /* undeclared columns are ignored, as by Swoole\Table::set */
        const askr_shim_column *c = &t->columns[i];
        uint8_t *p = area + c->offset;
        ZVAL_DEREF(value);
        if (c->type == ASKR_COLUMN_INT) {
            int64_t v = (int64_t)zval_get_long(value);
            memcpy(p, &v, sizeof v);
        } else if (c->type == ASKR_COLUMN_FLOAT) {
            double v = zval_get_double(value);
            memcpy(p, &v, sizeof v);
        } else {
            zend_string *str = zval_try_get_string(value);
            if (!str) goto done;
            if (ZSTR_LEN(str) > (size_t)c->size) {
                zend_value_error("Value for column [%s] of table [%s] is %zu bytes, more than its size of %d",
                    ZSTR_VAL(c->name), ZSTR_VAL(t->name), ZSTR_LEN(str), c->size);
                zend_string_release(str);
                goto done;
            }
            int32_t len = (int32_t)ZSTR_LEN(str);
            memcpy(p, &len, sizeof len);
            memcpy(p + 4, ZSTR_VAL(str), ZSTR_LEN(str));
            zend_string_release(str);
        }
        present |= 1ULL << i;
    } ZEND_HASH_FOREACH_END();
    {
        int32_t rc = g_cb.table_set(handle, ZSTR_VAL(key), (int64_t)ZSTR_LEN(key), area, present);
        if (rc != ASKR_TABLE_OK) {
            throw_table_status(t, rc);
        } else {
            RETVAL_TRUE;
        }
    }
done:
    if (area != stack_area) efree(area);
}

/* by: an int or float zval, or NULL for 1. */
static void table_incr_op(zend_long handle, const askr_shim_table *t, zend_string *key, zend_string *column, const zval *by, zval *return_value)
{
    if (!key_ok(key, "table_incr")) return;
    int64_t i = column_index(t, column);
    if (UNEXPECTED(i < 0)) {
        zend_value_error("Ephpm\\Octane\\table_incr(): Argument #3 ($column) must be a column of table [%s], [%s] is not",
            ZSTR_VAL(t->name), ZSTR_VAL(column));
        return;
    }
    if (UNEXPECTED(t->columns[i].type == ASKR_COLUMN_STRING)) {
        zend_value_error("Ephpm\\Octane\\table_incr(): Argument #3 ($column) must be an int or float column, [%s] of table [%s] is a string column",
            ZSTR_VAL(column), ZSTR_VAL(t->name));
        return;
    }
    /* A float column adds by as a double; an int column adds it as an int (a float by truncated). */
    int32_t by_is_float = by && Z_TYPE_P(by) == IS_DOUBLE;
    int64_t by_long = by ? (by_is_float ? (int64_t)Z_DVAL_P(by) : (int64_t)Z_LVAL_P(by)) : 1;
    double by_double = by ? (by_is_float ? Z_DVAL_P(by) : (double)Z_LVAL_P(by)) : 1.0;
    int32_t float_column = t->columns[i].type == ASKR_COLUMN_FLOAT;
    int64_t out_long = 0;
    double out_double = 0;
    int32_t rc = g_cb.table_incr(handle, ZSTR_VAL(key), (int64_t)ZSTR_LEN(key), i, float_column, by_long, by_double, &out_long, &out_double);
    if (UNEXPECTED(rc != ASKR_TABLE_OK)) {
        throw_table_status(t, rc);
        return;
    }
    if (float_column) RETURN_DOUBLE(out_double);
    RETURN_LONG((zend_long)out_long);
}

/* del and exists. */
static void table_key_op(zend_long handle, const askr_shim_table *t, zend_string *key, int32_t (*op)(int64_t, const char *, int64_t),
    const char *fn, zval *return_value)
{
    if (!key_ok(key, fn)) return;
    int32_t rc = op(handle, ZSTR_VAL(key), (int64_t)ZSTR_LEN(key));
    if (UNEXPECTED(rc < 0)) {
        throw_table_status(t, rc);
        return;
    }
    RETURN_BOOL(rc == ASKR_TABLE_FOUND);
}

/* ---------- the natives ---------- */

ZEND_FUNCTION(Ephpm_Octane_table_get)
{
    zend_long handle;
    zend_string *key, *column = NULL;
    ZEND_PARSE_PARAMETERS_START(2, 3)
        Z_PARAM_LONG(handle)
        Z_PARAM_STR(key)
        Z_PARAM_OPTIONAL
        Z_PARAM_STR_OR_NULL(column)
    ZEND_PARSE_PARAMETERS_END();
    askr_shim_table *t = table_of(handle);
    if (!t) RETURN_THROWS();
    table_get_op(handle, t, key, column, return_value);
}

ZEND_FUNCTION(Ephpm_Octane_table_set)
{
    zend_long handle;
    zend_string *key;
    HashTable *row;
    ZEND_PARSE_PARAMETERS_START(3, 3)
        Z_PARAM_LONG(handle)
        Z_PARAM_STR(key)
        Z_PARAM_ARRAY_HT(row)
    ZEND_PARSE_PARAMETERS_END();
    askr_shim_table *t = table_of(handle);
    if (!t) RETURN_THROWS();
    table_set_op(handle, t, key, row, return_value);
}

ZEND_FUNCTION(Ephpm_Octane_table_incr)
{
    zend_long handle;
    zend_string *key, *column;
    zval *by = NULL;
    ZEND_PARSE_PARAMETERS_START(3, 4)
        Z_PARAM_LONG(handle)
        Z_PARAM_STR(key)
        Z_PARAM_STR(column)
        Z_PARAM_OPTIONAL
        Z_PARAM_NUMBER(by)
    ZEND_PARSE_PARAMETERS_END();
    askr_shim_table *t = table_of(handle);
    if (!t) RETURN_THROWS();
    table_incr_op(handle, t, key, column, by, return_value);
}

static void table_key_native(INTERNAL_FUNCTION_PARAMETERS, int32_t (*op)(int64_t, const char *, int64_t), const char *fn)
{
    zend_long handle;
    zend_string *key;
    ZEND_PARSE_PARAMETERS_START(2, 2)
        Z_PARAM_LONG(handle)
        Z_PARAM_STR(key)
    ZEND_PARSE_PARAMETERS_END();
    askr_shim_table *t = table_of(handle);
    if (!t) RETURN_THROWS();
    table_key_op(handle, t, key, op, fn, return_value);
}

ZEND_FUNCTION(Ephpm_Octane_table_del) { table_key_native(INTERNAL_FUNCTION_PARAM_PASSTHRU, g_cb.table_del, "table_del"); }
ZEND_FUNCTION(Ephpm_Octane_table_exists) { table_key_native(INTERNAL_FUNCTION_PARAM_PASSTHRU, g_cb.table_exists, "table_exists"); }

ZEND_FUNCTION(Ephpm_Octane_table_count)
{
    zend_long handle;
    ZEND_PARSE_PARAMETERS_START(1, 1)
        Z_PARAM_LONG(handle)
    ZEND_PARSE_PARAMETERS_END();
    if (!table_of(handle)) RETURN_THROWS();
    RETURN_LONG((zend_long)g_cb.table_count(handle));
}

ZEND_FUNCTION(Ephpm_Octane_table_scan)
{
    zend_long handle, cursor, count;
    ZEND_PARSE_PARAMETERS_START(3, 3)
        Z_PARAM_LONG(handle)
        Z_PARAM_LONG(cursor)
        Z_PARAM_LONG(count)
    ZEND_PARSE_PARAMETERS_END();
    askr_shim_table *t = table_of(handle);
    if (!t) RETURN_THROWS();
    if (cursor < 0) { zend_argument_value_error(2, "must be 0 or a cursor returned by a previous scan"); RETURN_THROWS(); }
    if (count < 1) { zend_argument_value_error(3, "must be at least 1"); RETURN_THROWS(); }
    askr_scan scan;
    memset(&scan, 0, sizeof scan);
    int32_t rc = g_cb.table_scan(handle, cursor, count, &scan);
    if (rc < 0) {
        throw_table_status(t, rc);
        RETURN_THROWS();
    }
    zval rows;
    array_init_size(&rows, (uint32_t)scan.count);
    for (int64_t i = 0; i < scan.count; i++) {
        zval row;
        row_to_array(t, scan.areas + i * t->column_bytes, &row);
        zend_symtable_str_update(Z_ARRVAL(rows), scan.keys[i].ptr, (size_t)scan.keys[i].len, &row);
    }
    array_init_size(return_value, 2);
    add_next_index_long(return_value, (zend_long)scan.next_cursor);
    add_next_index_zval(return_value, &rows);
}

/* ---------- Ephpm\Octane\Table ---------- */

/* An abstract class whose table operations are internal methods: a PHP class that extends it
 * (the driver's Swoole\Table, and through it the table Octane::table() returns) gets them
 * without a PHP frame around the native call. The handle is kept beside the zend_object, set
 * once by bindHandle(). A ValueError of get/exists/del/incr/decr is passed through
 * $this->clearer($e, $key) and one of set through $this->setFailure($e, $key, $value), and
 * what they return is thrown: by default the error itself; the driver overrides them. */

typedef struct askr_table_object {
    zend_long handle;   /* from table_open(); 0 until bindHandle() */
    zend_object std;
} askr_table_object;

static zend_class_entry *askr_table_ce;
static zend_object_handlers askr_table_handlers;

static zend_always_inline askr_table_object *table_object(zend_object *obj)
{
    return (askr_table_object *)((char *)obj - XtOffsetOf(askr_table_object, std));
}

static zend_object *table_object_create(zend_class_entry *ce)
{
    askr_table_object *o = zend_object_alloc(sizeof(askr_table_object), ce);
    o->handle = 0;
    zend_object_std_init(&o->std, ce);
    object_properties_init(&o->std, ce);
    o->std.handlers = &askr_table_handlers;
    return &o->std;
}

static zend_object *table_object_clone(zend_object *old)
{
    zend_object *copy = table_object_create(old->ce);
    zend_objects_clone_members(copy, old);
    table_object(copy)->handle = table_object(old)->handle;
    return copy;
}

/* The table of $this, or NULL with an Error thrown when bindHandle() has not been called. */
static zend_always_inline askr_shim_table *bound_table(zend_object *self, zend_long *handle)
{
    *handle = table_object(self)->handle;
    askr_shim_table *t = table_at(*handle);
    if (UNEXPECTED(!t)) {
        zend_throw_error(NULL, "Table object of class %s is not open: its constructor must call bindHandle() with a handle from Ephpm\\Octane\\table_open()",
            ZSTR_VAL(self->ce->name));
    }
    return t;
}

/* When the operation threw a ValueError: calls $this->{hook}($e, $key[, $extra]) and throws what
 * it returns instead (or lets what it throws through). Other exceptions are left as they are. */
static ZEND_COLD void through_hook(zend_object *self, const char *hook, size_t hook_len, zend_string *key, zval *extra)
{
    zend_object *e = EG(exception);
    if (!e || !instanceof_function(e->ce, zend_ce_value_error)) return;
    zend_function *fn = zend_hash_str_find_ptr(&self->ce->function_table, hook, hook_len);
    if (!fn) return;
    zval args[3], rv;
    GC_ADDREF(e);
    zend_clear_exception();
    ZVAL_OBJ(&args[0], e);
    ZVAL_STR(&args[1], key);
    if (extra) ZVAL_COPY_VALUE(&args[2], extra);
    ZVAL_UNDEF(&rv);
    zend_call_known_instance_method(fn, self, &rv, extra ? 3 : 2, args);
    zval_ptr_dtor(&args[0]);
    if (EG(exception)) {
        zval_ptr_dtor(&rv);
        return;
    }
    if (Z_TYPE(rv) == IS_OBJECT && instanceof_function(Z_OBJCE(rv), zend_ce_throwable)) {
        zend_throw_exception_object(&rv);
        return;
    }
    zval_ptr_dtor(&rv);
    zend_throw_error(NULL, "%s::%s() must return a ValueError", ZSTR_VAL(self->ce->name), ZSTR_VAL(fn->common.function_name));
}

/* Parameters as a PHP method declares them: in coercive mode, null is a TypeError for a string
 * or int|float parameter (zpp would accept it with a deprecation, as for an internal function). */
static zend_always_inline bool method_arg_str(zval *arg, zend_string **dest, uint32_t n)
{
    if (EXPECTED(Z_TYPE_P(arg) == IS_STRING)) {
        *dest = Z_STR_P(arg);
        return true;
    }
    return Z_TYPE_P(arg) != IS_NULL && zend_parse_arg_str_slow(arg, dest, n);
}

static zend_always_inline bool method_arg_number(zval *arg, zval **dest, uint32_t n)
{
    if (EXPECTED(Z_TYPE_P(arg) == IS_LONG || Z_TYPE_P(arg) == IS_DOUBLE)) {
        *dest = arg;
        return true;
    }
    return Z_TYPE_P(arg) != IS_NULL && zend_parse_arg_number_slow(arg, dest, n);
}

#define ASKR_PARAM_STR(dest) \
    Z_PARAM_PROLOGUE(0, 0); \
    if (UNEXPECTED(!method_arg_str(_arg, &dest, _i))) { _expected_type = Z_EXPECTED_STRING; _error_code = ZPP_ERROR_WRONG_ARG; break; }

#define ASKR_PARAM_NUMBER(dest) \
    Z_PARAM_PROLOGUE(0, 0); \
    if (UNEXPECTED(!method_arg_number(_arg, &dest, _i))) { _expected_type = Z_EXPECTED_NUMBER; _error_code = ZPP_ERROR_WRONG_ARG; break; }

ZEND_METHOD(Ephpm_Octane_Table, get)
{
    zend_string *key, *field = NULL;
    ZEND_PARSE_PARAMETERS_START(1, 2)
        ASKR_PARAM_STR(key)
        Z_PARAM_OPTIONAL
        Z_PARAM_STR_OR_NULL(field)
    ZEND_PARSE_PARAMETERS_END();
    zend_object *self = Z_OBJ_P(ZEND_THIS);
    zend_long handle;
    askr_shim_table *t = bound_table(self, &handle);
    if (!t) RETURN_THROWS();
    table_get_op(handle, t, key, field, return_value);
    if (UNEXPECTED(EG(exception))) through_hook(self, ZEND_STRL("clearer"), key, NULL);
}

ZEND_METHOD(Ephpm_Octane_Table, set)
{
    zend_string *key;
    zval *value;
    ZEND_PARSE_PARAMETERS_START(2, 2)
        ASKR_PARAM_STR(key)
        Z_PARAM_ARRAY(value)
    ZEND_PARSE_PARAMETERS_END();
    zend_object *self = Z_OBJ_P(ZEND_THIS);
    zend_long handle;
    askr_shim_table *t = bound_table(self, &handle);
    if (!t) RETURN_THROWS();
    table_set_op(handle, t, key, Z_ARRVAL_P(value), return_value);
    if (UNEXPECTED(EG(exception))) through_hook(self, ZEND_STRL("setfailure"), key, value);
}

static zend_always_inline void table_method_incr(INTERNAL_FUNCTION_PARAMETERS, bool negate)
{
    zend_string *key, *column;
    zval *by = NULL;
    ZEND_PARSE_PARAMETERS_START(2, 3)
        ASKR_PARAM_STR(key)
        ASKR_PARAM_STR(column)
        Z_PARAM_OPTIONAL
        ASKR_PARAM_NUMBER(by)
    ZEND_PARSE_PARAMETERS_END();
    zend_object *self = Z_OBJ_P(ZEND_THIS);
    zend_long handle;
    askr_shim_table *t = bound_table(self, &handle);
    if (!t) RETURN_THROWS();
    zval negated;
    if (negate) {
        /* -$incrby, as PHP computes it: -PHP_INT_MIN is a float. */
        if (!by) {
            ZVAL_LONG(&negated, -1);
        } else if (Z_TYPE_P(by) == IS_DOUBLE) {
            ZVAL_DOUBLE(&negated, -Z_DVAL_P(by));
        } else if (Z_LVAL_P(by) == ZEND_LONG_MIN) {
            ZVAL_DOUBLE(&negated, -(double)ZEND_LONG_MIN);
        } else {
            ZVAL_LONG(&negated, -Z_LVAL_P(by));
        }
        by = &negated;
    }
    table_incr_op(handle, t, key, column, by, return_value);
    if (UNEXPECTED(EG(exception))) through_hook(self, ZEND_STRL("clearer"), key, NULL);
}

ZEND_METHOD(Ephpm_Octane_Table, incr) { table_method_incr(INTERNAL_FUNCTION_PARAM_PASSTHRU, false); }
ZEND_METHOD(Ephpm_Octane_Table, decr) { table_method_incr(INTERNAL_FUNCTION_PARAM_PASSTHRU, true); }

static zend_always_inline void table_method_key(INTERNAL_FUNCTION_PARAMETERS, int32_t (*op)(int64_t, const char *, int64_t), const char *fn)
{
    zend_string *key;
    ZEND_PARSE_PARAMETERS_START(1, 1)
        ASKR_PARAM_STR(key)
    ZEND_PARSE_PARAMETERS_END();
    zend_object *self = Z_OBJ_P(ZEND_THIS);
    zend_long handle;
    askr_shim_table *t = bound_table(self, &handle);
    if (!t) RETURN_THROWS();
    table_key_op(handle, t, key, op, fn, return_value);
    if (UNEXPECTED(EG(exception))) through_hook(self, ZEND_STRL("clearer"), key, NULL);
}

/* exist() and delete() are Swoole's aliases of exists() and del(). */
ZEND_METHOD(Ephpm_Octane_Table, exists) { table_method_key(INTERNAL_FUNCTION_PARAM_PASSTHRU, g_cb.table_exists, "table_exists"); }
ZEND_METHOD(Ephpm_Octane_Table, del) { table_method_key(INTERNAL_FUNCTION_PARAM_PASSTHRU, g_cb.table_del, "table_del"); }

ZEND_METHOD(Ephpm_Octane_Table, bindHandle)
{
    zend_long handle;
    ZEND_PARSE_PARAMETERS_START(1, 1)
        Z_PARAM_LONG(handle)
    ZEND_PARSE_PARAMETERS_END();
    askr_table_object *o = table_object(Z_OBJ_P(ZEND_THIS));
    if (o->handle != 0) {
        zend_throw_error(NULL, "Ephpm\\Octane\\Table::bindHandle(): this %s is already bound to a table", ZSTR_VAL(Z_OBJCE_P(ZEND_THIS)->name));
        RETURN_THROWS();
    }
    if (!table_of(handle)) RETURN_THROWS();
    o->handle = handle;
}

/* Default: the error as it is. */
ZEND_METHOD(Ephpm_Octane_Table, clearer)
{
    zval *e;
    zend_string *key;
    ZEND_PARSE_PARAMETERS_START(2, 2)
        Z_PARAM_OBJECT_OF_CLASS(e, zend_ce_value_error)
        Z_PARAM_STR(key)
    ZEND_PARSE_PARAMETERS_END();
    RETURN_COPY(e);
}

/* Default: $this->clearer($e, $key). */
ZEND_METHOD(Ephpm_Octane_Table, setFailure)
{
    zval *e, *value;
    zend_string *key;
    ZEND_PARSE_PARAMETERS_START(3, 3)
        Z_PARAM_OBJECT_OF_CLASS(e, zend_ce_value_error)
        Z_PARAM_STR(key)
        Z_PARAM_ARRAY(value)
    ZEND_PARSE_PARAMETERS_END();
    zend_object *self = Z_OBJ_P(ZEND_THIS);
    zend_function *fn = zend_hash_str_find_ptr(&self->ce->function_table, ZEND_STRL("clearer"));
    zval args[2];
    ZVAL_COPY_VALUE(&args[0], e);
    ZVAL_STR(&args[1], key);
    zend_call_known_instance_method(fn, self, return_value, 2, args);
}

static void register_table_class(void)
{
    askr_table_ce = register_class_Ephpm_Octane_Table();
    askr_table_ce->create_object = table_object_create;
    memcpy(&askr_table_handlers, zend_get_std_object_handlers(), sizeof askr_table_handlers);
    askr_table_handlers.offset = XtOffsetOf(askr_table_object, std);
    askr_table_handlers.clone_obj = table_object_clone;
}

/* ---------- tasks ---------- */

ZEND_FUNCTION(Ephpm_Octane_dispatch_tasks)
{
    HashTable *payloads;
    zend_long timeout = 3000;
    bool wait = true;
    ZEND_PARSE_PARAMETERS_START(1, 3)
        Z_PARAM_ARRAY_HT(payloads)
        Z_PARAM_OPTIONAL
        Z_PARAM_LONG(timeout)
        Z_PARAM_BOOL(wait)
    ZEND_PARSE_PARAMETERS_END();
    if (timeout < 0) {
        zend_argument_value_error(2, "must be at least 0 (milliseconds)");
        RETURN_THROWS();
    }
    uint32_t n = zend_hash_num_elements(payloads);
    if (n == 0) {
        RETURN_EMPTY_ARRAY();
    }
    if (!g_cb.dispatch) {
        zend_throw_exception_ex(spl_ce_RuntimeException, 0, "Ephpm\\Octane\\dispatch_tasks(): this worker cannot dispatch tasks");
        RETURN_THROWS();
    }
    askr_str *items = safe_emalloc(n, sizeof(askr_str), 0);
    uint32_t i = 0;
    zval *value;
    ZEND_HASH_FOREACH_VAL(payloads, value) {
        ZVAL_DEREF(value);
        if (Z_TYPE_P(value) != IS_STRING) {
            efree(items);
            zend_argument_type_error(1, "must be an array of strings (serialized tasks), %s found", zend_zval_type_name(value));
            RETURN_THROWS();
        }
        items[i].ptr = Z_STRVAL_P(value);
        items[i].len = (int64_t)Z_STRLEN_P(value);
        i++;
    } ZEND_HASH_FOREACH_END();
    const askr_task_result *results = NULL;
    int32_t rc = g_cb.dispatch(items, n, timeout, wait ? 1 : 0, &results);
    efree(items);
    if (rc < 0) {
        zend_throw_exception_ex(spl_ce_RuntimeException, 0, "Ephpm\\Octane\\dispatch_tasks(): the runtime could not dispatch the tasks (code %d)", rc);
        RETURN_THROWS();
    }
    if (!wait) {
        RETURN_EMPTY_ARRAY();
    }
    static const char *const names[ASKR_TASK_COUNT] = ASKR_TASK_NAMES;
    array_init_size(return_value, n);
    i = 0;
    zend_string *key;
    zend_ulong index;
    ZEND_HASH_FOREACH_KEY(payloads, index, key) {
        const askr_task_result *r = &results[i++];
        zval entry;
        array_init_size(&entry, 2);
        add_assoc_string_ex(&entry, "status", 6, (char *)names[r->status >= 0 && r->status < ASKR_TASK_COUNT ? r->status : ASKR_TASK_ERROR]);
        add_assoc_stringl_ex(&entry, "data", 4, r->data.ptr ? r->data.ptr : "", (size_t)r->data.len);
        if (key) {
            zend_hash_update(Z_ARRVAL_P(return_value), key, &entry);
        } else {
            zend_hash_index_update(Z_ARRVAL_P(return_value), index, &entry);
        }
    } ZEND_HASH_FOREACH_END();
}

/* Ticks are per PHP request (one run of the worker script): released at request shutdown. */
static PHP_RSHUTDOWN_FUNCTION(askr)
{
    for (size_t i = 0; i < g_tick_count; i++) {
        zval_ptr_dtor(&g_ticks[i].callable);
    }
    if (g_ticks) efree(g_ticks);
    g_ticks = NULL;
    g_tick_count = 0;
    release_tables();
    return SUCCESS;
}

static PHP_MINFO_FUNCTION(askr)
{
    php_info_print_table_start();
    php_info_print_table_row(2, "askr runtime natives", "enabled");
    php_info_print_table_end();
}

static PHP_MINIT_FUNCTION(askr)
{
    register_table_class();
    return SUCCESS;
}

static zend_module_entry askr_module_entry = {
    STANDARD_MODULE_HEADER,
    "askr",
    ext_functions,
    PHP_MINIT(askr), NULL, NULL,
    PHP_RSHUTDOWN(askr),
    PHP_MINFO(askr),
    "1.0",
    STANDARD_MODULE_PROPERTIES
};

static int askr_sapi_startup(sapi_module_struct *sapi_module)
{
    return php_module_startup(sapi_module, &askr_module_entry);
}

/* ---------- entry points ---------- */

/* Every sizeof, offsetof and constant of askr_shim.h, as this build sees them (askr_shim.h). */
#define ASKR_CONTRACT_S(type) { #type, (int64_t)sizeof(type), ASKR_CONTRACT_STRUCT, 0 },
#define ASKR_CONTRACT_F(type, field) { #type "." #field, (int64_t)offsetof(type, field), ASKR_CONTRACT_FIELD, (int32_t)sizeof(((type *)0)->field) },
#define ASKR_CONTRACT_C(name) { #name, (int64_t)(name), ASKR_CONTRACT_CONSTANT, 0 },
static const askr_contract_entry askr_contract[] = {
    ASKR_LAYOUT(ASKR_CONTRACT_S, ASKR_CONTRACT_F)
    ASKR_CONSTANTS(ASKR_CONTRACT_C)
};

const askr_contract_entry *askr_shim_contract(int64_t *count)
{
    *count = (int64_t)(sizeof askr_contract / sizeof askr_contract[0]);
    return askr_contract;
}

/* Defaults that worker mode needs (docs/architecture.md, "The PHP ⇄ C# seam"): no CPU-time
 * limit (NTS counts the whole process and _exit()s it), OPcache on, errors to the log. */
static const char askr_base_ini[] =
    "max_execution_time=0\n"
    "max_input_time=-1\n"
    "html_errors=0\n"
    "display_errors=0\n"
    "log_errors=1\n"
    "implicit_flush=0\n"
    "output_buffering=0\n"
    "register_argc_argv=1\n"
    "opcache.enable=1\n"
    "opcache.enable_cli=1\n";

int32_t askr_php_startup(const askr_callbacks *callbacks, const char *sapi_name, const char *extra_ini)
{
    /* libphp must be global, or shared extensions fail with undefined symbols. */
    Dl_info info;
    if (!dladdr((void *)&php_module_startup, &info) || !info.dli_fname
        || !dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD)) {
        return -1;
    }
    g_cb = *callbacks;
    if (sapi_name && *sapi_name) {
        askr_sapi_module.name = strdup(sapi_name);
    }
    size_t extra_len = extra_ini ? strlen(extra_ini) : 0;
    g_extra_ini = malloc(sizeof(askr_base_ini) + extra_len + 2);
    memcpy(g_extra_ini, askr_base_ini, sizeof(askr_base_ini) - 1);
    memcpy(g_extra_ini + sizeof(askr_base_ini) - 1, extra_ini ? extra_ini : "", extra_len);
    g_extra_ini[sizeof(askr_base_ini) - 1 + extra_len] = '\n';
    g_extra_ini[sizeof(askr_base_ini) + extra_len] = '\0';

#ifdef ZEND_SIGNALS
    /* Records the handlers .NET installed; installs none of its own for SIGTERM/SIGINT/SIGHUP. */
    zend_signal_startup();
#endif
    sapi_startup(&askr_sapi_module);
    askr_sapi_module.ini_entries = g_extra_ini;
    askr_sapi_module.phpinfo_as_text = 1;
    askr_sapi_module.php_ini_ignore_cwd = 1;
    if (askr_sapi_module.startup(&askr_sapi_module) == FAILURE) {
        return -2;
    }
    return 0;
}

/* STDIN, STDOUT and STDERR, as the CLI SAPI defines them (Octane and dd() write to STDERR).
 * Registered per request, as non-persistent constants; the streams never close fds 0-2. */
static void register_std_stream(const char *name, const char *path, const char *mode)
{
    php_stream *stream = php_stream_open_wrapper_ex(path, mode, 0, NULL, NULL);
    if (!stream) {
        return;
    }
    stream->flags |= PHP_STREAM_FLAG_NO_CLOSE;
    zend_constant c;
    php_stream_to_zval(stream, &c.value);
    ZEND_CONSTANT_SET_FLAGS(&c, CONST_CS, 0);
    c.name = zend_string_init_interned(name, strlen(name), 0);
    zend_register_constant(&c);
}

static void register_std_streams(void)
{
    register_std_stream("STDIN", "php://stdin", "rb");
    register_std_stream("STDOUT", "php://stdout", "wb");
    register_std_stream("STDERR", "php://stderr", "wb");
}

int32_t askr_php_run(const char *script_path, int32_t *exit_status)
{
    volatile int32_t result = ASKR_RUN_OK;
    static char *argv[2];
    argv[0] = (char *)script_path;
    argv[1] = NULL;
    SG(options) |= SAPI_OPTION_NO_CHDIR;
    SG(request_info).argc = 1;
    SG(request_info).argv = argv;
    SG(request_info).path_translated = (char *)script_path;
    SG(request_info).request_method = NULL;
    g_state = ASKR_NONE;
    if (php_request_startup() == FAILURE) {
        *exit_status = 255;
        return ASKR_RUN_STARTUP_FAILED;
    }
    SG(headers_sent) = 1;
    SG(request_info).no_headers = 1;
    register_std_streams();

    zend_file_handle fh;
    zend_stream_init_filename(&fh, script_path);
    zend_first_try {
        php_execute_script(&fh);
    } zend_catch {
        result = ASKR_RUN_BAILOUT;
    } zend_end_try();
    zend_destroy_file_handle(&fh);
    *exit_status = EG(exit_status);
    /* A streamed response left open by a script that ended normally is ended for the client;
     * after a fatal error (bailout, or an uncaught exception: exit status 255) C# cuts it. */
    if (g_state == ASKR_STREAMING && result == ASKR_RUN_OK && EG(exit_status) == 0) {
        g_cb.chunk(NULL, 0, 1);
    }
    g_state = ASKR_NONE;
    php_request_shutdown(NULL);
    SG(request_info).path_translated = NULL;
    return result;
}

void askr_php_shutdown(void)
{
    php_module_shutdown();
    sapi_shutdown();
}

void askr_php_interrupt(int64_t seconds)
{
    EG(timeout_seconds) = (zend_long)seconds;
    zend_atomic_bool_store_ex(&EG(timed_out), true);
    zend_atomic_bool_store_ex(&EG(vm_interrupt), true);
}

int64_t askr_php_memory_usage(void)
{
    return (int64_t)zend_memory_usage(0);
}
