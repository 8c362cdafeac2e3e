/**
 * Lays the prompt out as a caption. ffmpeg's drawtext does not wrap, so the lines are broken here by a
 * character budget that fits the frame width at the chosen font size.
 */

export const MAX_CAPTION_LINES = 6;
const ELLIPSIS = "…";
/**
 * DejaVu Sans Bold's average advance is about 0.62 em for mixed-case prose; budgeting 0.66 em leaves
 * room for wide lines (capitals, `m`, `w`) so a line never runs off the frame.
 */
const EM_PER_CHAR = 0.66;
/** Share of the frame width the caption may use. */
const WIDTH_SHARE = 0.88;

/**
 * Caption font size in pixels: proportional to the frame height, but capped by the width so portrait
 * frames still fit a useful number of characters per line (720×1280 → 40 px, 1280×720 → 30 px).
 */
export function captionFontSize(width: number, height: number): number {
  return Math.max(12, Math.round(Math.min(height / 24, width / 18)));
}

/** How many characters fit on one caption line. */
export function charsPerLine(width: number, fontSize: number): number {
  return Math.max(8, Math.floor((width * WIDTH_SHARE) / (fontSize * EM_PER_CHAR)));
}

/**
 * Breaks `text` into at most `maxLines` lines of at most `maxChars` characters (code points), at spaces
 * where possible. Whitespace runs and control characters collapse to single spaces; a word longer than
 * a line is cut; text that does not fit ends with an ellipsis.
 */
export function wrapCaption(text: string, maxChars: number, maxLines = MAX_CAPTION_LINES): string[] {
  const words = text
    .replace(/[\p{Cc}\s]+/gu, " ")
    .trim()
    .split(" ")
    .filter(Boolean);
  const lines: string[] = [];
  let line: string[] = [];
  const width = (s: string): number => Array.from(s).length;
  let lineWidth = 0;
  for (const word of words) {
    let rest = Array.from(word);
    // Cut words that cannot fit on any line into line-sized pieces.
    while (rest.length > 0) {
      const gap = line.length > 0 ? 1 : 0;
      if (lineWidth + gap + rest.length <= maxChars) {
        line.push(rest.join(""));
        lineWidth += gap + rest.length;
        rest = [];
      } else if (line.length > 0) {
        lines.push(line.join(" "));
        line = [];
        lineWidth = 0;
      } else {
        lines.push(rest.slice(0, maxChars).join(""));
        rest = rest.slice(maxChars);
      }
      // Stop early: a prompt may be thousands of characters and only six lines are shown.
      if (lines.length > maxLines) break;
    }
    if (lines.length > maxLines) break;
  }
  if (line.length > 0) lines.push(line.join(" "));
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  const last = kept[maxLines - 1] ?? "";
  const room = maxChars - 1;
  kept[maxLines - 1] =
    `${width(last) > room ? Array.from(last).slice(0, room).join("").trimEnd() : last}${ELLIPSIS}`;
  return kept;
}

/** The caption for a frame of this size, lines joined by `\n`; empty when the prompt has no text. */
export function captionText(prompt: string, width: number, height: number): string {
  return wrapCaption(prompt, charsPerLine(width, captionFontSize(width, height))).join("\n");
}

/** DejaVu Sans Bold's line height (ascent + descent) in em: drawtext's height of one line. */
const LINE_EM = 1.17;

/**
 * The rows of a width×height frame that the caption of `prompt` covers, its box included, with a
 * quarter em of slack above and below (filtergraph.ts captionFilter draws it); null when the prompt
 * makes no caption. A remix covers these rows of its source before drawing its own caption.
 */
export function captionBand(
  prompt: string,
  width: number,
  height: number,
): { y: number; height: number } | null {
  const text = captionText(prompt, width, height);
  if (text === "") return null;
  const lines = text.split("\n").length;
  const size = captionFontSize(width, height);
  const spacing = Math.round(size * 0.25);
  const border = Math.round(size * 0.4);
  const textHeight = lines * size * LINE_EM + (lines - 1) * spacing;
  const slack = size / 4;
  const bottom = height - height / 8;
  const top = Math.max(0, Math.floor(bottom - textHeight - border - slack));
  const end = Math.min(height, Math.ceil(bottom + border + slack));
  return { y: top, height: end - top };
}
