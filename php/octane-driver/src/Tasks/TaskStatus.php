<?php

namespace Askr\Octane\Tasks;

/**
 * What became of a task, as dispatch_tasks() reports it and send_task_result() takes it: the one
 * status type of askr's tasks, named as in the runtime (native/shim/constants.json, group TASK;
 * tests-php/Unit/Natives/SeamConstantsTest checks that they agree).
 */
enum TaskStatus: string
{
    /** The task ran; data is its result. */
    case Ok = 'ok';

    /** The task gave no result: its worker failed (fatal error, crash, timeout) or said why. */
    case Error = 'error';

    /** No result before the caller's deadline; the task still runs to its end. */
    case Timeout = 'timeout';

    /** The server runs no task workers. */
    case Unavailable = 'unavailable';
}
