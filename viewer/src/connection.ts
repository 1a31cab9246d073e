/**
 * The WebSocket to the metarl server. Reconnects by itself with exponential backoff
 * (a restarted training run comes back without a reload), decodes every message with
 * the shared protocol and hands it on; a malformed message is logged and skipped,
 * a protocol version mismatch stops the connection and is shown on the page.
 */
import { decodeServerMessage, encodeClientMessage, isVersionMismatch } from '../../src/stream/protocol.js';
import type { ClientMessage, ServerMessage } from '../../src/stream/protocol.js';

export type ConnectionStatus =
  | { state: 'connecting' }
  | { state: 'open' }
  | { state: 'closed'; retryInMs: number }
  | { state: 'incompatible'; message: string };

export interface ConnectionHandlers {
  onMessage(msg: ServerMessage): void;
  onStatus(status: ConnectionStatus): void;
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5000;

export class Connection {
  private ws: WebSocket | null = null;
  private retryMs = FIRST_RETRY_MS;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.open();
  }

  send(msg: ClientMessage): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(encodeClientMessage(msg));
  }

  close(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.ws?.close();
  }

  private open(): void {
    this.handlers.onStatus({ state: 'connecting' });
    const ws = new WebSocket(this.url);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      this.retryMs = FIRST_RETRY_MS;
      this.handlers.onStatus({ state: 'open' });
    };
    ws.onmessage = (ev: MessageEvent<string | ArrayBuffer>) => {
      let msg: ServerMessage;
      try {
        msg = decodeServerMessage(ev.data);
      } catch (err) {
        if (isVersionMismatch(err)) {
          this.stopped = true;
          ws.close();
          this.handlers.onStatus({ state: 'incompatible', message: (err as Error).message });
        } else {
          console.warn('metarl viewer: skipped a malformed message:', (err as Error).message);
        }
        return;
      }
      this.handlers.onMessage(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws || this.stopped) return;
      this.ws = null;
      const delay = this.retryMs;
      this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs * 2);
      this.handlers.onStatus({ state: 'closed', retryInMs: delay });
      this.timer = setTimeout(() => this.open(), delay);
    };
  }
}
