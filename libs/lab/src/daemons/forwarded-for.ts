import { Transform, type TransformCallback } from 'node:stream';

/*
 * What an L7 load balancer does to each HTTP/1.x request it forwards: it appends the address it accepted the
 * connection from to X-Forwarded-For, right after the request line. The lab's traffic sends one request per
 * connection, but every request on a keep-alive connection gets the header (a request starts after the blank line
 * that ends the previous one's headers; the lab's requests carry no body).
 */
export class ForwardedForInserter extends Transform {
  /** Bytes of the current request's head not yet passed on: waiting for the end of the request line. */
  private head = '';
  private inRequestLine = true;

  constructor(private readonly clientAddress: string) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    done(null, Buffer.from(this.rewrite(chunk.toString('latin1')), 'latin1'));
  }

  override _flush(done: TransformCallback): void {
    done(null, this.head.length > 0 ? Buffer.from(this.head, 'latin1') : undefined);
  }

  private rewrite(text: string): string {
    let out = '';
    let rest = this.head + text;
    this.head = '';
    while (rest.length > 0) {
      if (this.inRequestLine) {
        const end = rest.indexOf('\r\n');
        if (end < 0) {
          this.head = rest; // the request line continues in the next chunk
          return out;
        }
        out += `${rest.slice(0, end + 2)}X-Forwarded-For: ${this.clientAddress}\r\n`;
        rest = rest.slice(end + 2);
        this.inRequestLine = false;
      } else {
        const end = rest.indexOf('\r\n\r\n');
        if (end < 0) {
          // keep a possible partial terminator for the next chunk
          const keep = Math.min(3, rest.length);
          out += rest.slice(0, rest.length - keep);
          this.head = rest.slice(rest.length - keep);
          return out;
        }
        out += rest.slice(0, end + 4);
        rest = rest.slice(end + 4);
        this.inRequestLine = true;
      }
    }
    return out;
  }
}
