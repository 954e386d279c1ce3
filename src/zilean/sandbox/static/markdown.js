// Discord markdown for the sandbox page: bold, italics, underline, strike, spoilers, code, code blocks,
// quotes, links and mentions (<@id> → @name). It builds DOM nodes and sets text only through text
// nodes, never innerHTML, so a message can format itself but never inject markup or script.
"use strict";

const INLINE = new RegExp([
  "(`+)([\\s\\S]*?[^`])\\1(?!`)",              // 1-2: inline code
  "\\[([^\\]\\n]+)\\]\\(<?(https?://[^\\s)>]+)>?\\)", // 3-4: masked link
  "<(@[!&]?|#)(\\d{15,21})>",                    // 5-6: user, role or channel mention
  "\\*\\*([\\s\\S]+?)\\*\\*(?!\\*)",             // 7: bold
  "__([\\s\\S]+?)__(?!_)",                       // 8: underline
  "\\*(?!\\s)([\\s\\S]+?)\\*(?!\\*)",            // 9: italics
  "\\b_([\\s\\S]+?)_\\b",                        // 10: italics
  "~~([\\s\\S]+?)~~",                            // 11: strike-through
  "\\|\\|([\\s\\S]+?)\\|\\|",                    // 12: spoiler
  "(https?://[^\\s<]+[^\\s<.,:;\"')\\]])",       // 13: bare link
].join("|"));

function safeHref(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch (error) {
    return null;
  }
}

function link(url, children) {
  const href = safeHref(url);
  if (!href) return document.createTextNode(url);
  const a = document.createElement("a");
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  a.append(...children);
  return a;
}

function wrap(tag, children, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.append(...children);
  return node;
}

function mention(kind, id, names) {
  const label = kind === "#"
    ? "#" + (names.channel(id) || "unknown-channel")
    : "@" + ((kind === "@&" ? names.role(id) : names.user(id)) || "unknown");
  return wrap("span", [document.createTextNode(label)], "mention");
}

// Inline formatting of one stretch of text (no code blocks or quotes in it).
function inline(text, names) {
  const out = [];
  let rest = text;
  while (rest) {
    const m = INLINE.exec(rest);
    if (!m) break;
    if (m.index > 0) out.push(...lines(rest.slice(0, m.index)));
    if (m[1]) out.push(wrap("code", [document.createTextNode(m[2])]));
    else if (m[3]) out.push(link(m[4], inline(m[3], names)));
    else if (m[5]) out.push(mention(m[5].replace("!", ""), m[6], names));
    else if (m[7] !== undefined) out.push(wrap("strong", inline(m[7], names)));
    else if (m[8] !== undefined) out.push(wrap("u", inline(m[8], names)));
    else if (m[9] !== undefined) out.push(wrap("em", inline(m[9], names)));
    else if (m[10] !== undefined) out.push(wrap("em", inline(m[10], names)));
    else if (m[11] !== undefined) out.push(wrap("s", inline(m[11], names)));
    else if (m[12] !== undefined) out.push(wrap("span", inline(m[12], names), "spoiler"));
    else if (m[13]) out.push(link(m[13], [document.createTextNode(m[13])]));
    rest = rest.slice(m.index + m[0].length);
  }
  if (rest) out.push(...lines(rest));
  return out;
}

// Plain text with its line breaks kept.
function lines(text) {
  const out = [];
  text.split("\n").forEach((line, i) => {
    if (i > 0) out.push(document.createElement("br"));
    if (line) out.push(document.createTextNode(line));
  });
  return out;
}

// Text outside code blocks: "> " lines become a quote, the rest is inline formatting.
function blocks(text, names) {
  const out = [];
  let quote = [];
  let plain = [];
  const flush = () => {
    if (plain.length) out.push(...inline(plain.join("\n"), names));
    if (quote.length) out.push(wrap("blockquote", inline(quote.join("\n"), names)));
    plain = [];
    quote = [];
  };
  for (const line of text.split("\n")) {
    const quoted = /^> ?(.*)$/.exec(line);
    if (quoted) {
      if (plain.length) { out.push(...inline(plain.join("\n"), names)); plain = []; }
      quote.push(quoted[1]);
    } else {
      if (quote.length) { out.push(wrap("blockquote", inline(quote.join("\n"), names))); quote = []; }
      plain.push(line);
    }
  }
  flush();
  return out;
}

// The whole message: ```code blocks``` first (their content is shown as is), then everything else.
// `names` has user(id), role(id) and channel(id), each returning a name or undefined.
function renderMarkdown(text, names) {
  const fragment = document.createDocumentFragment();
  const fence = /```(?:([\w+-]{1,20})\n)?([\s\S]*?)```/g;
  let at = 0;
  let m;
  while ((m = fence.exec(text || "")) !== null) {
    if (m.index > at) fragment.append(...blocks(text.slice(at, m.index), names));
    const code = wrap("code", [document.createTextNode(m[2].replace(/^\n/, ""))]);
    fragment.append(wrap("pre", [code]));
    at = m.index + m[0].length;
  }
  if (text && at < text.length) fragment.append(...blocks(text.slice(at), names));
  return fragment;
}
