/** A one-line progress bar on stderr (redrawn in place on a TTY, one line per 10% otherwise). */
export class ProgressBar {
  private lastDecile = -1;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(done: number, note = ""): void {
    const frac = this.total === 0 ? 1 : Math.min(1, done / this.total);
    const width = 30;
    const filled = Math.round(frac * width);
    const line = `${this.label.padEnd(22)} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${note}`;
    if (this.stream.isTTY) {
      this.stream.write(`\r${line}\u001b[K`);
      if (frac >= 1) this.stream.write("\n");
      return;
    }
    const decile = Math.floor(frac * 10);
    if (decile !== this.lastDecile) {
      this.lastDecile = decile;
      this.stream.write(`${line}\n`);
    }
  }
}
