/** What the docs tests need to know about Markdown: heading anchors as GitHub makes them. */

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to dashes. */
export function slug(heading: string): string {
    return heading
        .trim()
        .toLowerCase()
        .replace(/`/g, "")
        .replace(/[^\p{L}\p{N}\s_-]/gu, "")
        .replace(/\s/g, "-");
}

/** The anchors of every heading outside code blocks. */
export function anchorsOf(markdown: string): Set<string> {
    const withoutCode = markdown.replace(/```[\s\S]*?```/g, "");
    return new Set([...withoutCode.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1])));
}
