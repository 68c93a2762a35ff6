/*
 * The task natives (docs/tasks.md). In HTTP workers, dispatch_tasks() hands serialized tasks to
 * the node's task workers through C# and turns their outcomes into PHP arrays. In task workers,
 * take_task() hands the script its next task or tick and send_task_result() answers it: a task is
 * not an HTTP request, and has its own envelope and status.
 */
#define _GNU_SOURCE
#include "shim.h"

#include <string.h>

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

ZEND_FUNCTION(Ephpm_Octane_take_task)
{
    ZEND_PARSE_PARAMETERS_NONE();
    int64_t deferred_ran;
    if (!askr_deferred_run(false, &deferred_ran)) {
        RETURN_THROWS();
    }
    for (;;) {
        askr_taken_task task;
        memset(&task, 0, sizeof task);
        int32_t rc = askr_cb.take_task ? askr_cb.take_task(askr_ticks_timeout_ms(), &task) : ASKR_TAKE_WRONG_KIND;
        if (rc == ASKR_TAKE_REQUEST) {
            static const char *const kinds[ASKR_TASK_KIND_COUNT] = ASKR_TASK_KIND_NAMES;
            array_init_size(return_value, 3);
            add_assoc_long_ex(return_value, "id", 2, (zend_long)task.id);
            add_assoc_string_ex(return_value, "kind", 4, (char *)kinds[task.kind >= 0 && task.kind < ASKR_TASK_KIND_COUNT ? task.kind : ASKR_TASK_KIND_TASK]);
            add_assoc_stringl_ex(return_value, "payload", 7, task.payload.ptr ? task.payload.ptr : "", (size_t)task.payload.len);
            /* As in take_request(): a timeout signalled for the previous task must not fail this one. */
            zend_atomic_bool_store_ex(&EG(timed_out), false);
            return;
        }
        if (rc == ASKR_TAKE_SHUTDOWN) {
            RETURN_NULL();
        }
        if (rc == ASKR_TAKE_WRONG_KIND) {
            zend_throw_error(NULL, "Ephpm\\Octane\\take_task(): this is an HTTP worker (ASKR_WORKER_KIND=http), which gets no tasks: take its requests with Ephpm\\Octane\\take_request()");
            RETURN_THROWS();
        }
        if (rc != ASKR_TAKE_TIMEOUT) {
            zend_throw_error(NULL, "Ephpm\\Octane\\take_task(): the runtime failed (code %d)", rc);
            RETURN_THROWS();
        }
        if (!askr_ticks_run_due()) {
            RETURN_THROWS();
        }
    }
}

ZEND_FUNCTION(Ephpm_Octane_send_task_result)
{
    zend_string *result, *status = NULL;
    ZEND_PARSE_PARAMETERS_START(1, 2)
        Z_PARAM_STR(result)
        Z_PARAM_OPTIONAL
        Z_PARAM_STR(status)
    ZEND_PARSE_PARAMETERS_END();
    static const char *const names[ASKR_TASK_COUNT] = ASKR_TASK_NAMES;
    int32_t code = ASKR_TASK_OK;
    if (status && zend_string_equals_cstr(status, names[ASKR_TASK_ERROR], strlen(names[ASKR_TASK_ERROR]))) {
        code = ASKR_TASK_ERROR;
    } else if (status && !zend_string_equals_cstr(status, names[ASKR_TASK_OK], strlen(names[ASKR_TASK_OK]))) {
        zend_argument_value_error(2, "must be \"%s\" or \"%s\", \"%s\" given", names[ASKR_TASK_OK], names[ASKR_TASK_ERROR], ZSTR_VAL(status));
        RETURN_THROWS();
    }
    int32_t rc = askr_cb.send_task_result ? askr_cb.send_task_result(code, ZSTR_VAL(result), (int64_t)ZSTR_LEN(result)) : ASKR_SEND_WRONG_KIND;
    switch (rc) {
    case ASKR_SEND_OK:
    case ASKR_SEND_CLIENT_GONE: /* answered by the runtime already (the task ran past its time): dropped */
        return;
    case ASKR_SEND_NO_REQUEST:
        zend_throw_error(NULL, "Ephpm\\Octane\\send_task_result(): there is no task to answer (one result per take_task())");
        RETURN_THROWS();
    case ASKR_SEND_WRONG_KIND:
        zend_throw_error(NULL, "Ephpm\\Octane\\send_task_result(): this is an HTTP worker, which runs no tasks: answer its requests with Ephpm\\Octane\\send_response()");
        RETURN_THROWS();
    default:
        zend_throw_error(NULL, "Ephpm\\Octane\\send_task_result(): the runtime failed to send the result (code %d)", rc);
        RETURN_THROWS();
    }
}
