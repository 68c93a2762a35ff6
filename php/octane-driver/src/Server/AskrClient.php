<?php

namespace Askr\Octane\Server;

use Askr\Octane\Server\Actions\ConvertEnvelopeToIlluminateRequest;
use Illuminate\Foundation\Application;
use Illuminate\Http\Request;
use Laravel\Octane\Contracts\Client;
use Laravel\Octane\Contracts\StoppableClient;
use Laravel\Octane\Octane;
use Laravel\Octane\OctaneResponse;
use Laravel\Octane\RequestContext;
use ReflectionProperty;
use Symfony\Component\HttpFoundation\BinaryFileResponse;
use Symfony\Component\HttpFoundation\Response;
use Symfony\Component\HttpFoundation\StreamedResponse;
use Throwable;

/**
 * Octane's client for the askr runtime: turns take_request() envelopes into Illuminate
 * requests and hands responses to send_response() / send_chunk() / send_file().
 *
 * The request context carries the envelope under the key "askrEnvelope".
 */
class AskrClient implements Client, StoppableClient
{
    /** Whether the current request has been answered (send_response or send_file called). */
    protected bool $answered = false;

    /** Whether the answer is a streamed response that is still open. */
    protected bool $streaming = false;

    protected bool $stopped = false;

    public function __construct(
        protected Natives $natives = new RuntimeNatives,
        protected TemporaryUploads $uploads = new TemporaryUploads,
    ) {
    }

    /**
     * Blocks for the next request and wraps its envelope in a request context.
     *
     * @return RequestContext|null null when the runtime shuts the worker down, or after stop().
     */
    public function nextRequest(): ?RequestContext
    {
        if ($this->stopped || ($envelope = $this->natives->takeRequest()) === null) {
            return null;
        }

        $this->answered = false;
        $this->streaming = false;

        return new RequestContext(['askrEnvelope' => $envelope]);
    }

    /**
     * Marshal the given request context into an Illuminate request.
     *
     * @return array{0: Request, 1: RequestContext}
     */
    public function marshalRequest(RequestContext $context): array
    {
        return [
            (new ConvertEnvelopeToIlluminateRequest($this->uploads))($context['askrEnvelope'] ?? []),
            $context,
        ];
    }

    /**
     * Send the response to the runtime.
     *
     * What the application echoed (the output buffer) goes first, as with Octane's
     * Swoole and RoadRunner clients; a file response is sent without it, because the
     * bytes of a file (range) response are fixed by its headers.
     */
    public function respond(RequestContext $context, OctaneResponse $octaneResponse): void
    {
        $response = $octaneResponse->response;
        $outputBuffer = (string) $octaneResponse->outputBuffer;

        if ($response instanceof BinaryFileResponse) {
            $this->sendFileResponse($response);

            return;
        }

        if ($response instanceof StreamedResponse) {
            $this->sendStreamedResponse($response, $outputBuffer);

            return;
        }

        $content = $outputBuffer.$response->getContent();
        $headers = $this->headers($response);

        if ($outputBuffer !== '' && $response->headers->has('Content-Length')) {
            $headers['Content-Length'] = (string) strlen($content);
        }

        $this->answered = true;
        $this->natives->sendResponse($response->getStatusCode(), $headers, $content);
    }

    /**
     * Send Octane's 500 answer for an error that escaped the application: the exception
     * itself when app.debug is on, "Internal server error." otherwise.
     */
    public function error(Throwable $e, Application $app, Request $request, RequestContext $context): void
    {
        $message = Octane::formatExceptionForClient($e, (bool) $app->make('config')->get('app.debug'));

        $this->sendError($message);
    }

    /**
     * Answers the current request with a plain-text 500 unless it has already been answered.
     * A streamed response that is already under way cannot change its status: it is ended.
     */
    public function sendError(string $message = 'Internal Server Error'): void
    {
        if ($this->streaming) {
            $this->finishStream();

            return;
        }

        if ($this->answered) {
            return;
        }

        $this->answered = true;
        $this->natives->sendResponse(500, ['Content-Type' => 'text/plain; charset=UTF-8'], $message);
    }

    /**
     * Called by the worker after each request: ends a stream left open, answers a request
     * nobody answered, and deletes the request's upload temp files.
     */
    public function finishRequest(): void
    {
        try {
            if ($this->streaming) {
                $this->finishStream();
            } elseif (! $this->answered) {
                $this->sendError();
            }
        } finally {
            $this->uploads->flush();
        }
    }

    /**
     * Stop taking requests: the worker loop ends after the current one.
     */
    public function stop(): void
    {
        $this->stopped = true;
    }

    public function uploads(): TemporaryUploads
    {
        return $this->uploads;
    }

    protected function sendStreamedResponse(StreamedResponse $response, string $outputBuffer): void
    {
        $this->answered = true;
        $this->streaming = true;
        $this->natives->sendResponse($response->getStatusCode(), $this->headers($response, streamed: true), $outputBuffer, true);

        // Every echo (chunk size 1) and every flush() of the callback becomes one chunk.
        ob_start(function (string $data): string {
            if ($data !== '') {
                $this->natives->sendChunk($data);
            }

            return '';
        }, 1);

        try {
            $response->sendContent();
        } finally {
            ob_end_clean();
        }

        $this->finishStream();
    }

    protected function finishStream(): void
    {
        $this->streaming = false;
        $this->natives->finishResponse();
    }

    /**
     * Sends a BinaryFileResponse by path. prepare() (called by Laravel's router) has already
     * turned a Range header into the status, Content-Range and the offset/maxlen read here.
     */
    protected function sendFileResponse(BinaryFileResponse $response): void
    {
        $headers = $this->headers($response);

        $maxlen = $this->binaryFileProperty($response, 'maxlen');
        $this->answered = true;

        // Errors (416 ...) and bodiless answers (HEAD, X-Sendfile) have no file bytes: Symfony sends its content.
        // Its Content-Length stays: for HEAD it is the file's length, which the runtime announces
        // without a body (RFC 9110 §9.3.2); for other methods the runtime uses the body's length.
        if (! $response->isSuccessful() || $maxlen === 0) {
            if (! $response->isSuccessful()) {
                unset($headers['Content-Length']); // a 416's length is its (empty) body's
            }

            $this->natives->sendResponse($response->getStatusCode(), $headers, (string) $response->getContent());

            return;
        }

        unset($headers['Content-Length']); // the runtime sets it from the length it sends

        $file = $response->getFile();
        $path = $file->getRealPath() ?: $file->getPathname();

        try {
            $this->natives->sendFile(
                $response->getStatusCode(),
                $headers,
                $path,
                $this->binaryFileProperty($response, 'offset'),
                $maxlen,
            );
        } finally {
            // The runtime opened the file before send_file() returned; unlinking it now is safe on POSIX.
            if ($this->binaryFileProperty($response, 'deleteFileAfterSend') && is_file($path)) {
                @unlink($path);
            }
        }
    }

    /**
     * The response's headers for the natives: name => list of values, Set-Cookie one line per cookie.
     *
     * @return array<string, string|list<string>>
     */
    protected function headers(Response $response, bool $streamed = false): array
    {
        $headers = $response->headers->allPreserveCaseWithoutCookies();

        if ($streamed) {
            // The runtime frames a streamed body itself (chunked on HTTP/1.1).
            unset($headers['Content-Length'], $headers['Transfer-Encoding']);
        }

        $cookies = [];

        foreach ($response->headers->getCookies() as $cookie) {
            $cookies[] = (string) $cookie;
        }

        if ($cookies !== []) {
            $headers['Set-Cookie'] = $cookies;
        }

        return $headers;
    }

    /**
     * BinaryFileResponse keeps what prepare() computed in protected properties without getters.
     */
    protected function binaryFileProperty(BinaryFileResponse $response, string $name): mixed
    {
        static $properties = [];

        $property = $properties[$name] ??= new ReflectionProperty(BinaryFileResponse::class, $name);
        $property->setAccessible(true);

        return $property->getValue($response);
    }
}
