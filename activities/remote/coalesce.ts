/**
 * Joins a stream's small chunks into large ones before they go into an SSH channel. A tar of a
 * 2,000-file tree arrives as ~6,000 chunks of a few hundred bytes; written one by one, each is an
 * SSH packet of its own, and the lab's sshd (busy on 2 shared cores) fell behind on them until
 * the connection's keepalive gave up. Joined, the same tree is a few hundred full packets.
 */
import { Transform } from 'node:stream';

export function coalesce(maxBytes = 256 << 10): Transform {
  let parts: Buffer[] = [];
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      parts.push(chunk);
      size += chunk.length;
      if (size >= maxBytes) {
        this.push(Buffer.concat(parts, size));
        parts = [];
        size = 0;
      }
      done();
    },
    flush(done) {
      if (size > 0) this.push(Buffer.concat(parts, size));
      done();
    },
  });
}
