/**
 * Mermaid's own parser for the tests: mermaid needs a DOM (DOMPurify) even to parse, so a jsdom
 * window is installed once, before mermaid is loaded.
 */
let parser: Promise<(text: string) => Promise<unknown>> | undefined;

/** Parses `text` with Mermaid; rejects with Mermaid's parse error when the diagram is invalid. */
export function parseMermaid(text: string): Promise<unknown> {
    parser ??= (async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { JSDOM } = require("jsdom") as {
            JSDOM: new (html: string) => { window: Record<string, unknown> & { document: unknown } };
        };
        const { window } = new JSDOM("<!doctype html><html><body></body></html>");
        const g = globalThis as Record<string, unknown>;
        g.window ??= window;
        g.document ??= window.document;
        const mermaid = (await import("mermaid")).default;
        return (t: string) => mermaid.parse(t);
    })();
    return parser.then((parse) => parse(text));
}
