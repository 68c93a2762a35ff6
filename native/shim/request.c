/*
 * The request natives: take_request() hands PHP the next envelope (running due on_tick()
 * callbacks while it waits), send_response() / send_chunk() / finish_response() / send_file()
 * answer it. C# is called with plain structs only; zvals are built after the callback returned.
 */
#define _GNU_SOURCE
#include "shim.h"

#include <string.h>
#include <time.h>

#include <zend_exceptions.h>

enum askr_request_state askr_request = ASKR_NONE;

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
    if (askr_request == ASKR_STREAMING) {
        askr_cb.chunk(NULL, 0, 1);
    }
    askr_request = ASKR_NONE;
}

/* Runs the due tick callbacks. An exception from one is reported as a warning and cleared,
 * except exit() (an unwind exit), which is left to propagate. Returns false in that case. */
bool askr_ticks_run_due(void)
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

int64_t askr_ticks_timeout_ms(void)
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
    if (askr_request == ASKR_STREAMING) {
        finish_streaming();
    }
    askr_request = ASKR_NONE;
    int64_t deferred_ran;
    if (!askr_deferred_run(false, &deferred_ran)) {
        RETURN_THROWS();
    }
    for (;;) {
        askr_envelope env;
        memset(&env, 0, sizeof(env));
        int32_t rc = askr_cb.take(askr_ticks_timeout_ms(), &env);
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
            askr_request = ASKR_OPEN;
            /* A timeout the runtime signalled for the previous request (askr_php_interrupt) must not
             * fail this one: C# switches the current request under the same lock it interrupts
             * under, so any interrupt pending now was meant for a request that has ended. */
            zend_atomic_bool_store_ex(&EG(timed_out), false);
            return;
        }
        if (rc == ASKR_TAKE_SHUTDOWN) {
            RETURN_NULL();
        }
        if (rc == ASKR_TAKE_WRONG_KIND) {
            zend_throw_error(NULL, "Ephpm\\Octane\\take_request(): this is a task worker (ASKR_WORKER_KIND=task), which gets no requests: take its tasks with Ephpm\\Octane\\take_task()");
            RETURN_THROWS();
        }
        if (rc != ASKR_TAKE_TIMEOUT) {
            zend_throw_error(NULL, "Ephpm\\Octane\\take_request(): the runtime failed (code %d)", rc);
            RETURN_THROWS();
        }
        if (!askr_ticks_run_due()) {
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
    if (askr_request == ASKR_OPEN) {
        return true;
    }
    if (askr_request == ASKR_NONE) {
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
    int32_t rc = askr_cb.send((int32_t)status, pairs.items, pairs.count,
                           body ? ZSTR_VAL(body) : "", body ? (int64_t)ZSTR_LEN(body) : 0,
                           stream ? ASKR_SEND_FLAG_STREAM : 0);
    free_pairs(&pairs);
    if (rc < 0) {
        askr_request = ASKR_NONE;
        throw_send_error(rc, "send_response");
        RETURN_THROWS();
    }
    askr_request = (stream && rc == ASKR_SEND_OK) ? ASKR_STREAMING : ASKR_NONE;
    if (stream && rc == ASKR_SEND_CLIENT_GONE) {
        /* Keep accepting (and dropping) chunks so the app's streaming loop ends normally. */
        askr_request = ASKR_STREAMING;
    }
}

ZEND_FUNCTION(Ephpm_Octane_send_chunk)
{
    zend_string *chunk;
    ZEND_PARSE_PARAMETERS_START(1, 1)
        Z_PARAM_STR(chunk)
    ZEND_PARSE_PARAMETERS_END();
    if (askr_request != ASKR_STREAMING) {
        zend_throw_error(NULL, "Ephpm\\Octane\\send_chunk(): no streamed response is open (call send_response() with \\$stream = true first)");
        RETURN_THROWS();
    }
    if (ZSTR_LEN(chunk) == 0) {
        return;
    }
    int32_t rc = askr_cb.chunk(ZSTR_VAL(chunk), (int64_t)ZSTR_LEN(chunk), 0);
    if (rc < 0) {
        askr_request = ASKR_NONE;
        throw_send_error(rc, "send_chunk");
        RETURN_THROWS();
    }
}

ZEND_FUNCTION(Ephpm_Octane_finish_response)
{
    ZEND_PARSE_PARAMETERS_NONE();
    if (askr_request == ASKR_STREAMING) {
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
    int32_t rc = askr_cb.file((int32_t)status, pairs.items, pairs.count, ZSTR_VAL(path), (int64_t)ZSTR_LEN(path),
                           (int64_t)offset, (int64_t)length);
    free_pairs(&pairs);
    if (rc == ASKR_SEND_FILE_ERROR) {
        zend_throw_error(NULL, "Ephpm\\Octane\\send_file(): cannot open \"%s\" for reading, or the range is outside the file", ZSTR_VAL(path));
        RETURN_THROWS();
    }
    if (rc < 0) {
        askr_request = ASKR_NONE;
        throw_send_error(rc, "send_file");
        RETURN_THROWS();
    }
    askr_request = ASKR_NONE;
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


/* Ticks are per PHP request (one run of the worker script): released at request shutdown. */
void askr_ticks_release(void)
{
    for (size_t i = 0; i < g_tick_count; i++) {
        zval_ptr_dtor(&g_ticks[i].callable);
    }
    if (g_ticks) efree(g_ticks);
    g_ticks = NULL;
    g_tick_count = 0;
}
