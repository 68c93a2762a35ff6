<?php

namespace Askr\Octane\Server\Actions;

use Askr\Octane\Server\TemporaryUploads;
use Illuminate\Http\UploadedFile;

/**
 * Parses a multipart/form-data body (RFC 7578) into what PHP would have put in
 * $_POST and $_FILES: field names with brackets nest as they do in PHP ("tags[]",
 * "user[name]"), file parts become UploadedFile objects backed by temporary files.
 *
 * PHP's rules that apps can observe are kept: an empty file input (filename="")
 * yields no file, a part larger than upload_max_filesize yields an UploadedFile
 * with UPLOAD_ERR_INI_SIZE, parts beyond max_file_uploads are dropped, and nothing
 * is accepted as a file when file_uploads is off. The size limit and the directory come
 * from TemporaryUploads (by default php.ini's upload_max_filesize and upload_tmp_dir).
 *
 * Files are created in "test" mode, as symfony/psr-http-message-bridge does for
 * PSR-7 uploads: PHP's is_uploaded_file()/move_uploaded_file() only know files
 * that PHP's own upload handling wrote, so isValid() and move() must not ask them.
 */
final class ParseMultipartBody
{
    public function __construct(private TemporaryUploads $uploads)
    {
    }

    /**
     * @param  string  $body  The raw request body.
     * @param  string  $contentType  The Content-Type header, with its boundary parameter.
     * @return array{0: array<string, mixed>, 1: array<string, mixed>} [fields, files]
     */
    public function __invoke(string $body, string $contentType): array
    {
        $boundary = $this->boundary($contentType);

        if ($boundary === null) {
            return [[], []];
        }

        $fieldPairs = [];
        $filePairs = [];
        $files = [];
        $fileLimit = (int) ini_get('max_file_uploads') ?: PHP_INT_MAX;
        $acceptFiles = filter_var(ini_get('file_uploads'), FILTER_VALIDATE_BOOLEAN);
        $maxFileSize = $this->uploads->maxFileSize();

        foreach ($this->parts($body, $boundary) as [$headers, $content]) {
            $disposition = $this->parameters($headers['content-disposition'] ?? '');

            if (! isset($disposition['name']) || $disposition['name'] === '') {
                continue;
            }

            $name = $disposition['name'];

            if (! array_key_exists('filename', $disposition)) {
                $fieldPairs[] = rawurlencode($name).'='.rawurlencode($content);

                continue;
            }

            if (! $acceptFiles || count($files) >= $fileLimit) {
                continue;
            }

            if ($disposition['filename'] === '') {
                continue; // an empty file input: PHP reports UPLOAD_ERR_NO_FILE, which Symfony turns into no file
            }

            $files[] = $this->uploadedFile($disposition['filename'], $headers['content-type'] ?? null, $content, $maxFileSize);
            $filePairs[] = rawurlencode($name).'='.(count($files) - 1);
        }

        parse_str(implode('&', $fieldPairs), $fields);

        // parse_str gives the file tree PHP's bracket rules; its leaves are indexes into $files.
        parse_str(implode('&', $filePairs), $fileTree);
        array_walk_recursive($fileTree, function (&$leaf) use ($files) {
            $leaf = $files[(int) $leaf];
        });

        return [$fields, $fileTree];
    }

    private function uploadedFile(string $filename, ?string $type, string $content, int $maxFileSize): UploadedFile
    {
        if ($maxFileSize > 0 && strlen($content) > $maxFileSize) {
            return new UploadedFile('', $filename, $type, UPLOAD_ERR_INI_SIZE, true);
        }

        return new UploadedFile($this->uploads->create($content), $filename, $type, UPLOAD_ERR_OK, true);
    }

    /**
     * @return iterable<array{0: array<string, string>, 1: string}> Each part's lower-cased headers and content.
     */
    private function parts(string $body, string $boundary): iterable
    {
        $delimiter = '--'.$boundary;
        $position = strpos($body, $delimiter);

        while ($position !== false) {
            $position += strlen($delimiter);

            if (substr($body, $position, 2) === '--') {
                return; // the close delimiter
            }

            $headerEnd = strpos($body, "\r\n\r\n", $position);

            if ($headerEnd === false) {
                return;
            }

            $next = strpos($body, "\r\n".$delimiter, $headerEnd + 4);

            if ($next === false) {
                return; // truncated body: PHP drops the unterminated part too
            }

            yield [
                $this->headers(substr($body, $position, $headerEnd - $position)),
                substr($body, $headerEnd + 4, $next - $headerEnd - 4),
            ];

            $position = $next + 2;
        }
    }

    /**
     * @return array<string, string>
     */
    private function headers(string $block): array
    {
        $headers = [];

        foreach (explode("\r\n", trim($block)) as $line) {
            if (str_contains($line, ':')) {
                [$name, $value] = explode(':', $line, 2);
                $headers[strtolower(trim($name))] = trim($value);
            }
        }

        return $headers;
    }

    /**
     * Parameters of a header value such as `form-data; name="a"; filename="b.txt"`.
     *
     * @return array<string, string>
     */
    private function parameters(string $value): array
    {
        preg_match_all('/;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))/', $value, $matches, PREG_SET_ORDER);

        $parameters = [];

        foreach ($matches as $match) {
            $parameters[strtolower($match[1])] = isset($match[3]) && $match[3] !== ''
                ? trim($match[3])
                : str_replace(['\\"', '\\\\'], ['"', '\\'], $match[2]);
        }

        return $parameters;
    }

    private function boundary(string $contentType): ?string
    {
        $parameters = $this->parameters($contentType);

        return isset($parameters['boundary']) && $parameters['boundary'] !== '' ? $parameters['boundary'] : null;
    }
}
