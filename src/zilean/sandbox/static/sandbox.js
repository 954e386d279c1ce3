// The sandbox page: act as a user in the emulated guild and hear the bot. Plain JS, no dependencies.
"use strict";

const $ = (id) => document.getElementById(id);
let state = null;
let guild = null;
let channelId = null;
let lastRendered = "";
let audio = null;

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.message || response.statusText);
  return data;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const me = () => $("user").value;
const userName = (id) => {
  const user = state.users.find((u) => u.id === id);
  return user ? user.global_name || user.username : id;
};

async function loadState() {
  state = await api("GET", "/_sandbox/state");
  guild = state.guilds[0];
  $("guild-name").textContent = guild.name;
  const gateway = $("gateway");
  gateway.textContent = state.gateway.connected ? "bot online" : "bot offline";
  gateway.classList.toggle("on", state.gateway.connected);
  const dashboard = $("dashboard");
  if (state.dashboard_url) dashboard.href = state.dashboard_url;
  dashboard.hidden = !state.dashboard_url;
  if (!$("user").options.length) {
    for (const user of state.users.filter((u) => !u.bot)) {
      $("user").append(el("option", { value: user.id }, `${user.global_name || user.username} (@${user.username})`));
    }
  }
  renderChannels();
}

function renderChannels() {
  const text = $("text-channels");
  const voice = $("voice-channels");
  text.replaceChildren();
  voice.replaceChildren();
  for (const channel of guild.channels) {
    if (channel.type === 0) {
      if (!channelId) channelId = channel.id;
      text.append(el("li", {
        class: channel.id === channelId ? "active" : "",
        onclick: () => { channelId = channel.id; lastRendered = ""; renderChannels(); poll(); },
      }, "# " + channel.name));
    } else if (channel.type === 2) {
      const inside = guild.voice_states.filter((v) => v.channel_id === channel.id);
      const item = el("li", { onclick: () => joinVoice(channel.id) }, "🔈 " + channel.name);
      for (const v of inside) item.append(el("span", { class: "who" }, userName(v.user_id)));
      voice.append(item);
    }
  }
  const mine = guild.voice_states.find((v) => v.user_id === me());
  $("leave").disabled = !mine;
  const bot = guild.bot_voice || {};
  $("voice-stats").textContent = bot.channel_id
    ? `bot in voice · ${bot.speaking ? "speaking" : "quiet"} · ${bot.packets ?? 0} packets` +
      (bot.dominant_hz ? ` · ${Math.round(bot.dominant_hz)} Hz` : "")
    : "bot not in voice";
}

async function joinVoice(channel) {
  try {
    await api("POST", "/_sandbox/voice", { user_id: me(), channel_id: channel, guild_id: guild.id });
    await loadState();
  } catch (error) { hint(error.message); }
}

function hint(text) { $("hint").textContent = text; }

// Names for mentions in markdown (markdown.js): members by nickname or display name, roles, channels.
const names = {
  user: (id) => {
    const member = guild && guild.members.find((m) => m.user && m.user.id === id);
    const user = state && state.users.find((u) => u.id === id);
    return (member && member.nick) || (user && (user.global_name || user.username));
  },
  role: (id) => { const role = guild && guild.roles.find((r) => r.id === id); return role && role.name; },
  channel: (id) => { const channel = guild && guild.channels.find((c) => c.id === id); return channel && channel.name; },
};
const md = (text) => renderMarkdown(text, names);

function renderEmbed(embed) {
  const box = el("div", { class: "embed" });
  if (embed.color) box.style.borderLeftColor = "#" + embed.color.toString(16).padStart(6, "0");
  if (embed.author && embed.author.name) box.append(el("div", { class: "muted" }, embed.author.name));
  if (embed.title) {
    const title = el("div", { class: "title" });
    const href = embed.url && safeHref(embed.url);
    title.append(href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, md(embed.title)) : md(embed.title));
    box.append(title);
  }
  if (embed.description) box.append(el("div", {}, md(embed.description)));
  for (const field of embed.fields || []) {
    box.append(el("div", { class: "field-name" }, md(field.name)), el("div", {}, md(field.value)));
  }
  if (embed.footer && embed.footer.text) box.append(el("div", { class: "muted" }, embed.footer.text));
  return box;
}

function renderComponents(message) {
  const rows = [];
  for (const row of message.components || []) {
    const line = el("div", { class: "row" });
    for (const component of row.components || []) {
      if (component.type === 2 && component.url) {
        line.append(el("a", { href: component.url, target: "_blank" }, component.label || "link"));
      } else if (component.type === 2) {
        line.append(el("button", {
          class: "s" + (component.style || 2),
          disabled: component.disabled,
          onclick: () => press(message.id, component.custom_id),
        }, (component.emoji && component.emoji.name ? component.emoji.name + " " : "") + (component.label || "")));
      } else if (component.type >= 3 && component.type <= 8) {
        const select = el("select", { disabled: component.disabled });
        select.append(el("option", { value: "" }, component.placeholder || "Choose…"));
        for (const option of component.options || []) select.append(el("option", { value: option.value }, option.label));
        select.addEventListener("change", () => select.value && press(message.id, component.custom_id, [select.value]));
        line.append(select);
      }
    }
    rows.push(line);
  }
  return rows;
}

async function press(messageId, customId, values) {
  try {
    const { interaction_id } = await api("POST", "/_sandbox/components", {
      message_id: messageId, user_id: me(), custom_id: customId, values,
    });
    watchForModal(interaction_id);
    setTimeout(poll, 300);
  } catch (error) { hint(error.message); }
}

// If the bot answers an interaction with a modal (callback type 9), ask for each input and submit it.
async function watchForModal(interactionId) {
  for (let i = 0; i < 15; i++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const found = await api("GET", `/_sandbox/interactions/${interactionId}`);
    const modal = found.responses.find((r) => r.type === 9);
    if (!modal) { if (found.acknowledged) return; continue; }
    const values = {};
    for (const top of modal.data.components || []) {
      for (const input of top.components || (top.component ? [top.component] : [])) {
        const label = input.label || top.label || input.custom_id;
        const answer = window.prompt(`${modal.data.title}: ${label}`, input.value || "");
        if (answer === null) return;
        values[input.custom_id] = answer;
      }
    }
    try {
      await api("POST", "/_sandbox/modals", { interaction_id: interactionId, user_id: me(), values });
    } catch (error) { hint(error.message); }
    return;
  }
}

function renderMessages(messages) {
  const box = $("messages");
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.replaceChildren();
  for (const message of messages) {
    if (message.ephemeral && message.interaction_user_id !== me()) continue;
    const loading = (message.flags & 128) !== 0;
    const row = el("div", { class: "msg" + (message.ephemeral ? " ephemeral" : "") },
      el("span", { class: "author" }, message.author.global_name || message.author.username),
      message.author.bot ? el("span", { class: "bot-tag" }, "BOT") : null,
      el("span", { class: "time" }, " " + new Date(message.timestamp).toLocaleTimeString()),
      message.edited_timestamp ? el("span", { class: "time" }, " (edited)") : null,
      el("div", { class: "content" }, loading ? "Zilean is thinking…" : md(message.content)));
    for (const attachment of message.attachments) {
      row.append(el("div", {}, el("a", { href: attachment.url, target: "_blank" }, "📎 " + attachment.filename)));
    }
    for (const embed of message.embeds) row.append(renderEmbed(embed));
    row.append(...renderComponents(message));
    if (message.ephemeral) row.append(el("div", { class: "muted" }, "Only you can see this"));
    box.append(row);
  }
  if (atBottom) box.scrollTop = box.scrollHeight;
}

async function poll() {
  if (!channelId) return;
  try {
    const messages = (await api("GET", `/_sandbox/channels/${channelId}/messages`)).slice(-100);
    const key = JSON.stringify(messages) + me();
    if (key !== lastRendered) {
      lastRendered = key;
      renderMessages(messages);
    }
  } catch (error) { hint(error.message); }
}

function readFile() {
  const file = $("file").files[0];
  if (!file) return Promise.resolve(null);
  return new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve({ filename: file.name, content_base64: reader.result.split(",")[1] });
    reader.readAsDataURL(file);
  });
}

// "/queue show page:2" or "/play never gonna" → {command, options}, using the registered definitions.
function parseSlash(text, attachment) {
  const words = text.slice(1).trim().split(/\s+/);
  const name = words.shift();
  const all = Object.values(state.commands).flat();
  const command = all.find((c) => c.name === name);
  if (!command) throw new Error(`no command /${name}; the bot registered: ${all.map((c) => "/" + c.name).join(" ")}`);
  const path = [name];
  let defs = command.options || [];
  while (words.length && defs.some((d) => (d.type === 1 || d.type === 2) && d.name === words[0])) {
    const sub = defs.find((d) => d.name === words[0]);
    path.push(words.shift());
    defs = sub.options || [];
  }
  const rest = words.join(" ");
  const options = {};
  const pairs = [...rest.matchAll(/(\w+):(.*?)(?=\s+\w+:|$)/g)];
  if (pairs.length) for (const [, key, value] of pairs) options[key] = value.trim();
  else if (rest) {
    const first = defs.find((d) => d.type === 3) || defs[0];
    if (!first) throw new Error(`/${path.join(" ")} takes no options`);
    options[first.name] = rest;
  }
  const fileOption = defs.find((d) => d.type === 11);
  if (attachment && fileOption) options[fileOption.name] = attachment;
  return { command: path.join(" "), options };
}

async function send(event) {
  event.preventDefault();
  const text = $("input").value.trim();
  const attachment = await readFile();
  if (!text && !attachment) return;
  try {
    if (text.startsWith("/")) {
      await loadState();
      const { command, options } = parseSlash(text, attachment);
      const started = await api("POST", "/_sandbox/interactions", { channel_id: channelId, user_id: me(), command, options });
      watchForModal(started.interaction_id);
    } else {
      await api("POST", "/_sandbox/messages", {
        channel_id: channelId, user_id: me(), content: text, attachments: attachment ? [attachment] : [],
      });
    }
    $("input").value = "";
    $("file").value = "";
    hint("");
    setTimeout(poll, 200);
  } catch (error) { hint(error.message); }
}

// Live audio: 48 kHz stereo s16le chunks over a websocket, scheduled back to back in WebAudio.
function listen() {
  if (audio) {
    audio.socket.close();
    audio.context.close();
    audio = null;
    $("listen").textContent = "🔊 Listen to the bot";
    $("level").style.width = "0";
    return;
  }
  const context = new AudioContext({ sampleRate: 48000 });
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/_sandbox/voice/${guild.id}/pcm`);
  socket.binaryType = "arraybuffer";
  audio = { context, socket, at: 0 };
  $("listen").textContent = "🔇 Stop listening";
  socket.onmessage = (event) => {
    const samples = new Int16Array(event.data);
    const frames = samples.length / 2;
    if (!frames) return;
    const buffer = context.createBuffer(2, frames, 48000);
    const left = buffer.getChannelData(0);
    const right = buffer.getChannelData(1);
    let sum = 0;
    for (let i = 0; i < frames; i++) {
      left[i] = samples[2 * i] / 32768;
      right[i] = samples[2 * i + 1] / 32768;
      sum += left[i] * left[i] + right[i] * right[i];
    }
    const rms = Math.sqrt(sum / (2 * frames));
    $("level").style.width = Math.min(100, Math.round(rms * 300)) + "%";
    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);
    // A small lead absorbs network jitter; if we fell behind, restart the schedule.
    audio.at = Math.max(audio.at, context.currentTime + 0.15);
    source.start(audio.at);
    audio.at += buffer.duration;
  };
  socket.onclose = () => { if (audio && audio.socket === socket) listen(); };
}

$("composer").addEventListener("submit", send);
$("leave").addEventListener("click", () => joinVoice(null));
$("listen").addEventListener("click", listen);
$("user").addEventListener("change", () => { lastRendered = ""; renderChannels(); poll(); });
loadState().then(poll);
setInterval(poll, 800);
setInterval(() => loadState().catch((error) => hint(error.message)), 2000);
