/*
 * Defer after send (docs/lifecycle.md): defer() queues a callback, run_deferred() runs the queue
 * once the current response is complete on the wire. take_request() and take_task() run what is
 * queued before they take the next job, and a worker script that ends normally has its queue run
 * before the PHP request ends (askr_php_run), so a callback is never dropped by a clean exit.
 * The callbacks run on the PHP thread while C# still counts the request as current, so its
 * --request-timeout covers them (PhpThread's watchdog interrupts, or replaces the worker).
 */
#define _GNU_SOURCE
#include "shim.h"

#include <zend_exceptions.h>

static zval *g_deferred;
static size_t g_deferred_count;
static size_t g_deferred_cap;
static bool g_running;

ZEND_FUNCTION(Ephpm_Octane_defer)
{
    zval *callable;
    ZEND_PARSE_PARAMETERS_START(1, 1)
        Z_PARAM_ZVAL(callable)
    ZEND_PARSE_PARAMETERS_END();
    if (!zend_is_callable(callable, 0, NULL)) {
        zend_argument_type_error(1, "must be a valid callback");
        RETURN_THROWS();
    }
    if (g_deferred_count == g_deferred_cap) {
        g_deferred_cap = g_deferred_cap ? g_deferred_cap * 2 : 4;
        g_deferred = erealloc(g_deferred, sizeof(zval) * g_deferred_cap);
    }
    ZVAL_COPY(&g_deferred[g_deferred_count++], callable);
}

/* Runs the queue in order, callbacks deferred by a callback included (they join the end).
 * An exception is reported as a warning and the next callback runs; exit() (an unwind exit)
 * stops the run with its exception left to propagate: *exited is set and the rest is released. */
static int64_t run_queue(bool *exited)
{
    int64_t ran = 0;
    size_t i = 0;
    *exited = false;
    g_running = true;
    while (i < g_deferred_count) {
        zval callable;
        ZVAL_COPY_VALUE(&callable, &g_deferred[i]);
        ZVAL_UNDEF(&g_deferred[i]);
        i++;
        zval retval;
        ZVAL_UNDEF(&retval);
        call_user_function(NULL, NULL, &callable, &retval, 0, NULL);
        zval_ptr_dtor(&retval);
        zval_ptr_dtor(&callable);
        ran++;
        if (EG(exception)) {
            if (zend_is_unwind_exit(EG(exception)) || zend_is_graceful_exit(EG(exception))) {
                *exited = true;
                break;
            }
            /* "Uncaught ..." as a warning; takes the exception off EG and releases it. */
            zend_exception_error(EG(exception), E_WARNING);
        }
    }
    for (; i < g_deferred_count; i++) {
        zval_ptr_dtor(&g_deferred[i]);
    }
    g_deferred_count = 0;
    g_running = false;
    return ran;
}

bool askr_deferred_run(bool wait_for_answer, int64_t *ran)
{
    *ran = 0;
    if (g_deferred_count == 0 || g_running) {
        return true;
    }
    /* The response must be complete on the wire first. ASKR_SEND_NO_REQUEST: the request is not
     * answered yet; a caller that answers later (run_deferred()) leaves the queue for then. */
    int32_t rc = askr_cb.await_sent();
    if (rc == ASKR_SEND_NO_REQUEST && wait_for_answer) {
        return true;
    }
    bool exited;
    *ran = run_queue(&exited);
    return !exited;
}

ZEND_FUNCTION(Ephpm_Octane_run_deferred)
{
    ZEND_PARSE_PARAMETERS_NONE();
    int64_t ran;
    if (!askr_deferred_run(true, &ran)) {
        RETURN_THROWS();
    }
    RETURN_LONG((zend_long)ran);
}

void askr_deferred_release(void)
{
    for (size_t i = 0; i < g_deferred_count; i++) {
        zval_ptr_dtor(&g_deferred[i]);
    }
    if (g_deferred) efree(g_deferred);
    g_deferred = NULL;
    g_deferred_count = 0;
    g_deferred_cap = 0;
    g_running = false;
}
