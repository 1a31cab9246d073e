import { WebSocket } from 'ws';
import { decodeServerMessage, type ServerMessage } from '../../src/stream/protocol.js';

/** A real ws client of the viewer server that decodes and keeps every message, counting binary ones. */
export class ViewerProbe {
  readonly messages: ServerMessage[] = [];
  binaryMessages = 0;
  private readonly ws: WebSocket;

  constructor(url: string) {
    this.ws = new WebSocket(`${url.replace(/^http/, 'ws')}ws`);
    this.ws.on('message', (data, isBinary) => {
      if (isBinary) this.binaryMessages++;
      this.messages.push(decodeServerMessage(isBinary ? new Uint8Array(data as Buffer) : (data as Buffer).toString('utf8')));
    });
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.ws.readyState === WebSocket.OPEN) return resolve();
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  of<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.messages.filter((m) => m.type === type) as Extract<ServerMessage, { type: T }>[];
  }

  /** Waits until `pred` holds; messages still in flight when training returns arrive here. */
  async until(pred: () => boolean, timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`viewer probe timed out; got ${this.messages.map((m) => m.type).join(',')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    this.ws.close();
  }
}
