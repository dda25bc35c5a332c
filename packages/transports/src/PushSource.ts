/**
 * The byte source of the WebSocket transports: frames are pushed in, the commit point reads SSE bytes out.
 * Split from `CommitPoint.ts`, which re-exports it.
 */
const textEncoder = new TextEncoder()
/** pending text that wakes the reader without waiting for the burst to end */
const FLUSH_AT = 64 * 1024

/**
 * A byte source fed by pushes (WebSocket frames). Unlike `controller.error`, `fail` lets the reader take
 * every chunk pushed before the failure first. Text pushed between two reads is handed out as one chunk,
 * encoded once: a fast stream costs one read per burst instead of one per frame, and nothing waits for it.
 */
export class PushSource {
  private queue: Array<Uint8Array> = []
  private head = 0
  private text = ""
  private scheduled = false
  private ended = false
  private failure: { readonly error: unknown } | undefined
  private wake: (() => void) | undefined
  readonly stream: ReadableStream<Uint8Array>

  constructor(onCancel: () => void) {
    this.stream = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          for (;;) {
            this.flushText()
            if (this.head < this.queue.length) {
              // everything available at once: the stream's own queue is empty whenever pull runs
              for (let i = this.head; i < this.queue.length; i++) controller.enqueue(this.queue[i] as Uint8Array)
              this.queue = []
              this.head = 0
              return
            }
            if (this.failure !== undefined) return controller.error(this.failure.error)
            if (this.ended) return controller.close()
            await new Promise<void>((resolve) => {
              this.wake = resolve
            })
          }
        },
        cancel: () => {
          this.ended = true
          onCancel()
        },
      },
      { highWaterMark: 0 },
    )
  }

  /**
   * Wakes the reader after the frames of the current I/O burst (a runtime that delivers one frame per event
   * would otherwise cost a read per frame), or at once when a full chunk's worth is waiting.
   */
  private notify(now = false) {
    const wake = this.wake
    if (wake === undefined) return
    if (now || this.text.length >= FLUSH_AT) {
      this.wake = undefined
      wake()
    } else if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.wakeLater)
    }
  }

  private readonly wakeLater = () => {
    this.scheduled = false
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  private flushText(): void {
    if (this.text === "") return
    this.queue.push(textEncoder.encode(this.text))
    this.text = ""
  }

  push(chunk: Uint8Array): void {
    if (this.ended || this.failure !== undefined) return
    this.flushText()
    this.queue.push(chunk)
    this.notify()
  }

  /** Queues text, UTF-8 encoded together with whatever text is pushed before the next read. */
  pushText(text: string): void {
    if (this.ended || this.failure !== undefined) return
    this.text += text
    this.notify()
  }

  close(): void {
    this.ended = true
    this.notify(true)
  }

  fail(error: unknown): void {
    if (this.ended || this.failure !== undefined) return
    this.failure = { error }
    this.notify(true)
  }
}
