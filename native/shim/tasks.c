/*
 * The task natives: dispatch_tasks() hands serialized tasks to the node's task workers through
 * C# (docs/tasks.md) and turns their outcomes into PHP arrays.
 */
#define _GNU_SOURCE
#include "shim.h"

#include <ext/spl/spl_exceptions.h>
#include <zend_exceptions.h>

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
    if (!askr_cb.dispatch) {
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
    int32_t rc = askr_cb.dispatch(items, n, timeout, wait ? 1 : 0, &results);
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

