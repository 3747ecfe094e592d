/** Splits a text stream into lines (std's TextLineStream, which is on JSR, is not reachable). */
export class TextLineStream extends TransformStream<string, string> {
  constructor() {
    let buffer = "";
    super({
      transform(chunk, controller) {
        buffer += chunk;
        let i: number;
        while ((i = buffer.indexOf("\n")) >= 0) {
          controller.enqueue(buffer.slice(0, i).replace(/\r$/, ""));
          buffer = buffer.slice(i + 1);
        }
      },
      flush(controller) {
        if (buffer.length > 0) controller.enqueue(buffer);
      },
    });
  }
}
