/*
 * What the shim's files share: the callbacks into C# and where the current request stands.
 * askr_shim.h is the contract with C#; this header is internal to the shim. One file per concern:
 *
 *   sapi.c     the SAPI module and the engine: askr_php_startup/run/shutdown/interrupt, the
 *              contract export (askr_shim_contract)
 *   request.c  the request natives: take_request, send_response, send_chunk, finish_response,
 *              send_file, and on_tick with the ticks that run while take_request() waits
 *   tables.c   the table natives (table_*) and the class Ephpm\Octane\Table
 *   defer.c    defer() and run_deferred(): callbacks run after the response is on the wire
 *   tasks.c    the task natives: dispatch_tasks, and take_task / send_task_result in task workers
 *   background.c  the background-worker natives: set_vars, get_vars, should_stop,
 *              get_worker_handle, ensure_background_worker
 *   module.c   the module entry: the function table and class entries generated from the stub,
 *              start-up of the classes, per-request cleanup
 *
 * A new capability (background workers, broadcasting, ...) gets a file of its own beside these:
 * its natives' C bodies (declared in php/octane-driver/stubs/natives.php), and, if it keeps state
 * per PHP request, a release function here that module.c's RSHUTDOWN calls (docs/natives.md,
 * "Adding a native").
 */
#ifndef ASKR_SHIM_INTERNAL_H
#define ASKR_SHIM_INTERNAL_H

#include "askr_shim.h"

#include <stdbool.h>
#include <stdint.h>

#include <php.h>

#pragma GCC visibility push(hidden)

/* The C# side, as askr_php_startup() received it. */
extern askr_callbacks askr_cb;

/* Where the current request stands, from PHP's point of view. */
enum askr_request_state {
    ASKR_NONE = 0,   /* no request taken, or answered and done */
    ASKR_OPEN,       /* taken, not answered yet */
    ASKR_STREAMING,  /* answered with a streamed response that is still open */
};
extern enum askr_request_state askr_request;

/* request.c: the on_tick() callbacks, which take_request() and take_task() run while they wait:
 * how long until the next is due (-1: none), running those that are due (false: exit() was
 * called in one, and its unwind exception is left to propagate), and their release when the PHP
 * request ends. */
int64_t askr_ticks_timeout_ms(void);
bool askr_ticks_run_due(void);
void askr_ticks_release(void);

/* defer.c: runs the callbacks queued with defer() once the current response is on the wire
 * (wait_for_answer: leave them queued while the request is not answered yet). *ran: how many
 * ran. False when exit() was called in one (its unwind exception is left to propagate). And the
 * queue's release when the PHP request ends. */
bool askr_deferred_run(bool wait_for_answer, int64_t *ran);
void askr_deferred_release(void);

/* tables.c: sets up Ephpm\Octane\Table (its class entry comes from the stub), and releases the
 * tables the PHP request that ends opened. */
void askr_tables_minit(zend_class_entry *table_class);
void askr_tables_release(void);

/* background.c: the snapshots get_vars() unserialized in the PHP request that ends. */
void askr_background_release(void);

/* module.c */
extern zend_module_entry askr_module_entry;

#pragma GCC visibility pop

#endif
