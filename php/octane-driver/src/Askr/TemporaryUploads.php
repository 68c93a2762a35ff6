<?php

namespace Askr\Octane\Askr;

use RuntimeException;

/**
 * The temporary files that hold the uploaded parts of the current request.
 *
 * PHP's own SAPIs delete upload temp files when the request ends; in a worker the
 * "request" never ends, so the client records every file it writes here and the
 * worker flushes them after each request. A file the application moved away
 * (UploadedFile::move) is simply no longer there to delete.
 */
final class TemporaryUploads
{
    /** @var list<string> */
    private array $paths = [];

    public function __construct(private ?string $directory = null)
    {
    }

    /**
     * Writes $contents to a new temporary file and records it for flush().
     *
     * @return string The file's absolute path.
     *
     * @throws RuntimeException when the upload directory is not writable.
     */
    public function create(string $contents): string
    {
        $directory = $this->directory();

        $path = @tempnam($directory, 'askr-upload-');

        if ($path === false || @file_put_contents($path, $contents) !== strlen($contents)) {
            throw new RuntimeException("Unable to write an uploaded file to the temporary directory [{$directory}].");
        }

        return $this->paths[] = $path;
    }

    /**
     * The recorded paths, oldest first.
     *
     * @return list<string>
     */
    public function paths(): array
    {
        return $this->paths;
    }

    /**
     * Deletes every recorded file that still exists and forgets them all.
     */
    public function flush(): void
    {
        foreach ($this->paths as $path) {
            clearstatcache(true, $path);

            if (is_file($path)) {
                @unlink($path);
            }
        }

        $this->paths = [];
    }

    /**
     * The directory uploads go to: the constructor's, else php.ini's upload_tmp_dir, else the system's.
     */
    public function directory(): string
    {
        return $this->directory ?: (ini_get('upload_tmp_dir') ?: sys_get_temp_dir());
    }
}
