/**
 * Joins a stream's small chunks into large ones before they go into an SSH channel. A tar of a
 * 2,000-file tree arrives as ~6,000 chunks of a few hundred bytes; written one by one, each is an
 * SSH packet of its own, and the lab's sshd (busy on 2 shared cores) fell behind on them until
 * the connection's keepalive gave up. Joined, the same tree is a few hundred full packets.
 * A chunk already large (a big file's 4 MiB reads) passes as it is: copying it into a new buffer
 * cost ~15 % of a 256 MiB upload's speed (a new 4 MiB buffer to fill, on the event loop that encrypts).
 */
import { Transform } from 'node:stream';

export function coalesce(maxBytes = 256 << 10, readAheadBytes = 4 << 20): Transform {
  let parts: Buffer[] = [];
  let size = 0;
  const flushParts = (t: Transform) => {
    if (size === 0) return;
    t.push(parts.length === 1 ? parts[0] : Buffer.concat(parts, size));
    parts = [];
    size = 0;
  };
  return new Transform({
    // How much may wait for the channel: a big file's next read is ready when the channel wants it.
    readableHighWaterMark: readAheadBytes,
    transform(chunk: Buffer, _enc, done) {
      if (chunk.length >= maxBytes) {
        flushParts(this);
        this.push(chunk);
      } else {
        parts.push(chunk);
        size += chunk.length;
        if (size >= maxBytes) flushParts(this);
      }
      done();
    },
    flush(done) {
      flushParts(this);
      done();
    },
  });
}
