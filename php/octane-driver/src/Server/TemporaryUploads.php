<?php

namespace Askr\Octane\Server;

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

    /**
     * @param  string|null  $directory  Where files go; null: php.ini's upload_tmp_dir, else the system's temp dir.
     * @param  int|null  $maxFileSize  Largest accepted file in bytes (0: no limit); null: php.ini's upload_max_filesize.
     */
    public function __construct(private ?string $directory = null, private ?int $maxFileSize = null)
    {
    }

    /**
     * The largest file accepted, in bytes; 0 means no limit.
     */
    public function maxFileSize(): int
    {
        return $this->maxFileSize ??= self::bytes((string) ini_get('upload_max_filesize'));
    }

    /**
     * php.ini shorthand ("2M", "512K", "1G") to bytes.
     */
    public static function bytes(string $value): int
    {
        $value = trim($value);
        $number = (int) $value;

        return match (strtolower(substr($value, -1))) {
            'g' => $number * 1024 * 1024 * 1024,
            'm' => $number * 1024 * 1024,
            'k' => $number * 1024,
            default => $number,
        };
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
