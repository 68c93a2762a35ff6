/*
 * The background-worker natives (docs/background-workers.md): set_vars() publishes a snapshot
 * of a background worker's variables, get_vars() reads the latest one, should_stop() and
 * get_worker_handle() tell a background worker when to stop, ensure_background_worker() starts
 * lazy workers and waits for their first snapshot.
 *
 * A snapshot crosses the seam serialized (php_var_serialize): C# keeps the bytes in the node's
 * shared memory with a generation counter. This file keeps, per PHP request, the last snapshot
 * it unserialized for each name with its generation: a get_vars() of an unchanged generation
 * costs one callback that compares two integers, and returns the same array (refcounted, so
 * `===` compares one pointer).
 */
#define _GNU_SOURCE
#include "shim.h"

#include <string.h>
#include <unistd.h>

#include <ext/spl/spl_exceptions.h>
#include <ext/standard/php_var.h>
#include <main/php_streams.h>
#include <zend_exceptions.h>
#include <zend_smart_str.h>

/* How deep set_vars() follows nested arrays (a reference cycle would recurse forever). */
#define VARS_MAX_DEPTH 128

typedef struct vars_entry {
    int64_t generation;
    zval value;
} vars_entry;

static HashTable *vars_cache; /* name => vars_entry*, for this PHP request */

static void vars_entry_dtor(zval *zv)
{
    vars_entry *entry = Z_PTR_P(zv);
    zval_ptr_dtor(&entry->value);
    efree(entry);
}

void askr_background_release(void)
{
    if (vars_cache) {
        zend_hash_destroy(vars_cache);
        FREE_HASHTABLE(vars_cache);
        vars_cache = NULL;
    }
}

static const char *message_of(const askr_str *message, const char *fallback)
{
    return message->ptr && message->len > 0 ? message->ptr : fallback;
}

/* Throws what a failed callback means: the message C# gave, in the class its code calls for. */
static void throw_vars_error(const char *function, int32_t rc, const askr_str *message)
{
    int len = (int)(message->ptr ? message->len : 0);
    const char *text = message_of(message, "the runtime failed");
    if (len == 0) len = (int)strlen(text);
    switch (rc) {
    case ASKR_VARS_WRONG_KIND:
        zend_throw_error(NULL, "Ephpm\\Octane\\%s(): %.*s", function, len, text);
        break;
    case ASKR_VARS_TOO_LARGE:
        zend_value_error("Ephpm\\Octane\\%s(): %.*s", function, len, text);
        break;
    default:
        zend_throw_exception_ex(spl_ce_RuntimeException, 0, "Ephpm\\Octane\\%s(): %.*s", function, len, text);
        break;
    }
}

static void append_key(smart_str *path, zend_string *key, zend_ulong index)
{
    if (key) {
        smart_str_appends(path, "['");
        smart_str_append(path, key);
        smart_str_appends(path, "']");
    } else {
        smart_str_appendc(path, '[');
        smart_str_append_long(path, (zend_long)index);
        smart_str_appendc(path, ']');
    }
}

/* Whether value may be shared (null, bool, int, float, string, arrays of these, backed enums);
 * if not, throws a TypeError that names where it is ($vars['a'][0]). */
static bool check_shareable(zval *value, smart_str *path, int depth)
{
    ZVAL_DEREF(value);
    switch (Z_TYPE_P(value)) {
    case IS_NULL: case IS_FALSE: case IS_TRUE: case IS_LONG: case IS_DOUBLE: case IS_STRING:
        return true;
    case IS_ARRAY: {
        if (depth >= VARS_MAX_DEPTH) {
            smart_str_0(path);
            zend_value_error("Ephpm\\Octane\\set_vars(): $vars%s nests more than %d arrays deep (a reference cycle?)", ZSTR_VAL(path->s), VARS_MAX_DEPTH);
            return false;
        }
        size_t mark = path->s ? ZSTR_LEN(path->s) : 0;
        zend_string *key;
        zend_ulong index;
        zval *item;
        ZEND_HASH_FOREACH_KEY_VAL(Z_ARRVAL_P(value), index, key, item) {
            append_key(path, key, index);
            if (!check_shareable(item, path, depth + 1)) return false;
            ZSTR_LEN(path->s) = mark;
        } ZEND_HASH_FOREACH_END();
        return true;
    }
    case IS_OBJECT: {
        zend_class_entry *ce = Z_OBJCE_P(value);
        if ((ce->ce_flags & ZEND_ACC_ENUM) && ce->enum_backing_type != IS_UNDEF) return true;
        smart_str_0(path);
        zend_type_error("Ephpm\\Octane\\set_vars(): $vars%s is %s %s; only null, bool, int, float, string, arrays and backed enums can be shared",
            path->s ? ZSTR_VAL(path->s) : "", (ce->ce_flags & ZEND_ACC_ENUM) ? "the pure enum case of" : "an object of class", ZSTR_VAL(ce->name));
        return false;
    }
    default:
        smart_str_0(path);
        zend_type_error("Ephpm\\Octane\\set_vars(): $vars%s is %s; only null, bool, int, float, string, arrays and backed enums can be shared",
            path->s ? ZSTR_VAL(path->s) : "", Z_TYPE_P(value) == IS_RESOURCE ? "a resource" : zend_zval_type_name(value));
        return false;
    }
}

ZEND_FUNCTION(Ephpm_Octane_set_vars)
{
    zval *vars;
    ZEND_PARSE_PARAMETERS_START(1, 1)
        Z_PARAM_ARRAY(vars)
    ZEND_PARSE_PARAMETERS_END();
    if (!askr_cb.set_vars) {
        zend_throw_error(NULL, "Ephpm\\Octane\\set_vars(): this runtime has no background workers");
        RETURN_THROWS();
    }
    smart_str path = {0};
    smart_str_appends(&path, "");
    bool ok = check_shareable(vars, &path, 0);
    smart_str_free(&path);
    if (!ok) RETURN_THROWS();

    smart_str buf = {0};
    php_serialize_data_t var_hash;
    PHP_VAR_SERIALIZE_INIT(var_hash);
    php_var_serialize(&buf, vars, &var_hash);
    PHP_VAR_SERIALIZE_DESTROY(var_hash);
    if (EG(exception)) {
        smart_str_free(&buf);
        RETURN_THROWS();
    }
    smart_str_0(&buf);
    askr_str message = {0};
    int32_t rc = askr_cb.set_vars(ZSTR_VAL(buf.s), (int64_t)ZSTR_LEN(buf.s), &message);
    smart_str_free(&buf);
    if (rc < 0) {
        throw_vars_error("set_vars", rc, &message);
        RETURN_THROWS();
    }
}

/* The latest snapshot of name into *out (a new reference); false with an exception thrown. */
static bool vars_of(zend_string *name, zval *out)
{
    vars_entry *entry = vars_cache ? zend_hash_find_ptr(vars_cache, name) : NULL;
    int64_t generation = 0;
    askr_str blob = {0}, message = {0};
    int32_t rc = askr_cb.get_vars(ZSTR_VAL(name), (int64_t)ZSTR_LEN(name), entry ? entry->generation : 0, &generation, &blob, &message);
    if (rc == ASKR_VARS_UNCHANGED && entry) {
        ZVAL_COPY(out, &entry->value);
        return true;
    }
    if (rc < 0) {
        throw_vars_error("get_vars", rc, &message);
        return false;
    }
    php_unserialize_data_t var_hash;
    PHP_VAR_UNSERIALIZE_INIT(var_hash);
    zval *value = var_tmp_var(&var_hash);
    const unsigned char *p = (const unsigned char *)blob.ptr, *end = p + blob.len;
    bool ok = php_var_unserialize(value, &p, end, &var_hash) && Z_TYPE_P(value) == IS_ARRAY;
    if (ok) {
        if (!entry) {
            if (!vars_cache) {
                ALLOC_HASHTABLE(vars_cache);
                zend_hash_init(vars_cache, 8, NULL, vars_entry_dtor, 0);
            }
            entry = emalloc(sizeof *entry);
            ZVAL_UNDEF(&entry->value);
            zend_hash_update_ptr(vars_cache, name, entry);
        }
        zval_ptr_dtor(&entry->value);
        ZVAL_COPY(&entry->value, value);
        entry->generation = generation;
        ZVAL_COPY(out, value);
    }
    PHP_VAR_UNSERIALIZE_DESTROY(var_hash);
    if (!ok && !EG(exception)) {
        zend_throw_exception_ex(spl_ce_RuntimeException, 0, "Ephpm\\Octane\\get_vars(): the snapshot of \"%s\" (generation %lld) could not be unserialized", ZSTR_VAL(name), (long long)generation);
    }
    return ok;
}

ZEND_FUNCTION(Ephpm_Octane_get_vars)
{
    zend_string *name = NULL;
    HashTable *names = NULL;
    ZEND_PARSE_PARAMETERS_START(1, 1)
        Z_PARAM_ARRAY_HT_OR_STR(names, name)
    ZEND_PARSE_PARAMETERS_END();
    if (!askr_cb.get_vars) {
        zend_throw_exception_ex(spl_ce_RuntimeException, 0, "Ephpm\\Octane\\get_vars(): this runtime has no background workers");
        RETURN_THROWS();
    }
    if (name) {
        if (!vars_of(name, return_value)) RETURN_THROWS();
        return;
    }
    array_init_size(return_value, zend_hash_num_elements(names));
    zval *item;
    ZEND_HASH_FOREACH_VAL(names, item) {
        ZVAL_DEREF(item);
        if (Z_TYPE_P(item) != IS_STRING) {
            zend_argument_type_error(1, "must be a name or an array of names (strings), %s found in the array", zend_zval_type_name(item));
            RETURN_THROWS();
        }
        zval vars;
        if (!vars_of(Z_STR_P(item), &vars)) RETURN_THROWS();
        zend_hash_update(Z_ARRVAL_P(return_value), Z_STR_P(item), &vars);
    } ZEND_HASH_FOREACH_END();
}

ZEND_FUNCTION(Ephpm_Octane_should_stop)
{
    ZEND_PARSE_PARAMETERS_NONE();
    askr_str message = {0};
    int32_t rc = askr_cb.should_stop ? askr_cb.should_stop(&message) : ASKR_VARS_WRONG_KIND;
    if (rc < 0) {
        throw_vars_error("should_stop", rc, &message);
        RETURN_THROWS();
    }
    RETURN_BOOL(rc == 1);
}

ZEND_FUNCTION(Ephpm_Octane_get_worker_handle)
{
    ZEND_PARSE_PARAMETERS_NONE();
    askr_str message = {0};
    int32_t fd = -1;
    int32_t rc = askr_cb.worker_handle ? askr_cb.worker_handle(&fd, &message) : ASKR_VARS_WRONG_KIND;
    if (rc < 0) {
        throw_vars_error("get_worker_handle", rc, &message);
        RETURN_THROWS();
    }
    php_stream *stream = php_stream_fopen_from_fd(fd, "r", NULL);
    if (!stream) {
        close(fd);
        zend_throw_error(NULL, "Ephpm\\Octane\\get_worker_handle(): could not open the stop handle as a stream");
        RETURN_THROWS();
    }
    php_stream_to_zval(stream, return_value);
}

ZEND_FUNCTION(Ephpm_Octane_ensure_background_worker)
{
    zend_string *name = NULL;
    HashTable *names = NULL;
    double timeout = 0;
    bool timeout_null = true;
    ZEND_PARSE_PARAMETERS_START(1, 2)
        Z_PARAM_ARRAY_HT_OR_STR(names, name)
        Z_PARAM_OPTIONAL
        Z_PARAM_DOUBLE_OR_NULL(timeout, timeout_null)
    ZEND_PARSE_PARAMETERS_END();
    if (!timeout_null && !(timeout >= 0)) {
        zend_argument_value_error(2, "must be null or at least 0 (seconds)");
        RETURN_THROWS();
    }
    if (!askr_cb.ensure_background) {
        zend_throw_exception_ex(spl_ce_RuntimeException, 0, "Ephpm\\Octane\\ensure_background_worker(): this runtime has no background workers");
        RETURN_THROWS();
    }
    uint32_t n = name ? 1 : zend_hash_num_elements(names);
    if (n == 0) return;
    askr_str *items = safe_emalloc(n, sizeof(askr_str), 0);
    if (name) {
        items[0].ptr = ZSTR_VAL(name);
        items[0].len = (int64_t)ZSTR_LEN(name);
    } else {
        uint32_t i = 0;
        zval *item;
        ZEND_HASH_FOREACH_VAL(names, item) {
            ZVAL_DEREF(item);
            if (Z_TYPE_P(item) != IS_STRING) {
                efree(items);
                zend_argument_type_error(1, "must be a name or an array of names (strings), %s found in the array", zend_zval_type_name(item));
                RETURN_THROWS();
            }
            items[i].ptr = Z_STRVAL_P(item);
            items[i].len = (int64_t)Z_STRLEN_P(item);
            i++;
        } ZEND_HASH_FOREACH_END();
    }
    askr_str message = {0};
    int64_t timeout_ms = timeout_null ? -1 : (int64_t)(timeout * 1000.0);
    int32_t rc = askr_cb.ensure_background(items, n, timeout_ms, &message);
    efree(items);
    if (rc < 0) {
        throw_vars_error("ensure_background_worker", rc, &message);
        RETURN_THROWS();
    }
}
