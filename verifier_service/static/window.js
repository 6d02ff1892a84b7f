// Window page (窗口核验页): scanner gun, camera and photo input; the verdict large; the
// session's history. Plain JS, no build step: the page must run from the service alone.
"use strict";

(() => {
  const SESSION_KEY = "ezz.window.session";
  const API_KEY = "ezz.window.key";
  const HISTORY_KEY = "ezz.window.history";
  const MAX_CAUSE = 200;
  const FRAME_INTERVAL_MS = 500;
  const REQUEST_TIMEOUT_MS = 20000;
  const HISTORY_LIMIT = 200;

  const VERDICTS = {
    PASSED: { word: "有效", mark: "✓", cls: "passed" },
    FAILED: { word: "无效", mark: "✗", cls: "failed" },
    INDETERMINATE: { word: "无法确认", mark: "?", cls: "indeterminate" },
  };

  // Chinese text for the service's error codes; the server's own message is shown beside it.
  const ERRORS = {
    unauthenticated: "API 密钥无效、已吊销或未填写，请在“修改会话”中重新输入密钥",
    forbidden: "此密钥无权进行窗口核验（需要窗口角色的密钥）",
    rate_limited: "请求过于频繁，请稍候再试",
    invalid_json: "请求内容不是有效的 JSON",
    invalid_request: "请求内容不完整或不符合要求",
    invalid_form: "上传的表单内容不完整",
    too_many_qr_codes: "照片中的二维码过多，请只拍一张证照",
    audit_unavailable: "留痕记录暂时无法写入，本次核验未完成，请稍后重试",
    unsupported_media_type: "不支持的内容类型",
    body_too_large: "提交的内容过大",
    image_too_large: "照片过大，请缩小后重试",
    not_an_image: "所选文件不是可识别的图片",
    no_qr_code: "照片中未找到二维码",
    not_found: "服务地址不存在",
    method_not_allowed: "请求方式不被允许",
    network: "无法连接核验服务，请检查网络",
    timeout: "核验服务响应超时，请重试",
    bad_response: "核验服务返回了无法识别的内容",
    camera_unavailable: "无法使用摄像头",
  };

  const $ = (id) => document.getElementById(id);
  const el = {};
  let session = null;
  let apiKey = "";
  let history = [];
  let camera = null; // { stream, timer, busy, frames, stopped }

  // ---------------------------------------------------------------- storage

  function load(name, fallback) {
    try {
      const raw = sessionStorage.getItem(name);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (_) {
      return fallback;
    }
  }

  function save(name, value) {
    try {
      sessionStorage.setItem(name, JSON.stringify(value));
      return true;
    } catch (_) {
      // Storage full or disabled: the page still works, only a reload loses the history.
      return false;
    }
  }

  function saveHistory() {
    if (save(HISTORY_KEY, history)) return;
    // Storage full: seal pictures are the bulk; keep them for the newest few entries only.
    const lean = history.map((e, i) =>
      i < 5 ? e : { ...e, result: { ...e.result, display: { ...e.result.display, seal_picture: null } } });
    save(HISTORY_KEY, lean);
  }

  function keyFromFragment() {
    const hash = window.location.hash.replace(/^#/, "");
    if (!hash) return null;
    const params = new URLSearchParams(hash);
    const key = params.get("key");
    // Take the key out of the address bar at once so it is not bookmarked, shared or shown.
    params.delete("key");
    const rest = params.toString();
    const url = window.location.pathname + window.location.search + (rest ? "#" + rest : "");
    window.history.replaceState(null, "", url);
    return key && key.trim() ? key.trim() : null;
  }

  // ---------------------------------------------------------------- session

  function validSession(s) {
    return (
      s && typeof s.clerk === "string" && s.clerk.trim() &&
      typeof s.item_code === "string" && s.item_code.trim() &&
      typeof s.use_cause === "string" && s.use_cause.trim() &&
      s.use_cause.length <= MAX_CAUSE
    );
  }

  function showSetup(message) {
    el.workspace.hidden = true;
    el.sessionBar.hidden = true;
    el.setup.hidden = false;
    stopCamera();
    el.setupClerk.value = session ? session.clerk : el.setupClerk.value;
    el.setupItem.value = session ? session.item_code : el.setupItem.value;
    el.setupCause.value = session ? session.use_cause : el.setupCause.value;
    el.setupKey.value = apiKey;
    el.keyHint.textContent = apiKey ? "已读取密钥（来自启动链接或本次会话）。" : "由管理员用 ezz apikey create 创建的窗口角色密钥。";
    el.setupError.textContent = message || "";
    updateCounter();
    const first = [el.setupClerk, el.setupItem, el.setupCause, el.setupKey].find((i) => !i.value.trim());
    (first || el.setupSubmit).focus();
  }

  function showWorkspace() {
    el.setup.hidden = true;
    el.workspace.hidden = false;
    el.sessionBar.hidden = false;
    el.infoClerk.textContent = session.clerk;
    el.infoItem.textContent = session.item_code;
    el.infoCause.textContent = session.use_cause;
    el.infoCause.title = session.use_cause;
    renderHistory();
    focusScanner();
  }

  function updateCounter() {
    el.causeCounter.textContent = `${el.setupCause.value.length}/${MAX_CAUSE}`;
  }

  function onSetupSubmit(event) {
    event.preventDefault();
    const clerk = el.setupClerk.value.trim();
    const itemCode = el.setupItem.value.trim();
    const cause = el.setupCause.value.trim();
    const key = el.setupKey.value.trim();
    const missing = [];
    if (!clerk) missing.push("经办人");
    if (!itemCode) missing.push("事项编码");
    if (!cause) missing.push("用证事由");
    if (!key) missing.push("API 密钥");
    if (missing.length) {
      el.setupError.textContent = `请填写：${missing.join("、")}`;
      return;
    }
    if (cause.length > MAX_CAUSE) {
      el.setupError.textContent = `用证事由不能超过 ${MAX_CAUSE} 个字`;
      return;
    }
    session = { clerk, item_code: itemCode, use_cause: cause };
    apiKey = key;
    save(SESSION_KEY, session);
    save(API_KEY, apiKey);
    showWorkspace();
  }

  function endSession() {
    stopCamera();
    session = null;
    apiKey = "";
    history = [];
    sessionStorage.removeItem(SESSION_KEY);
    sessionStorage.removeItem(API_KEY);
    sessionStorage.removeItem(HISTORY_KEY);
    el.setupForm.reset();
    clearVerdict();
    showSetup("会话已结束，本页的核验记录已清除。");
  }

  // ---------------------------------------------------------------- API calls

  async function call(path, body, headers) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    let response;
    try {
      response = await fetch(path, {
        method: "POST",
        headers: { Accept: "application/json", Authorization: `Bearer ${apiKey}`, ...headers },
        body,
        credentials: "omit",
        cache: "no-store",
        signal: controller.signal,
      });
    } catch (err) {
      const code = err && err.name === "AbortError" ? "timeout" : "network";
      return { ok: false, status: 0, code, message: String(err && err.message ? err.message : err) };
    } finally {
      clearTimeout(timer);
    }
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (response.ok && data && typeof data === "object") return { ok: true, status: response.status, data };
    if (response.ok) return { ok: false, status: response.status, code: "bad_response", message: "" };
    const code = data && typeof data.code === "string" ? data.code : `http_${response.status}`;
    let message = data && typeof data.message === "string" ? data.message : response.statusText;
    const retry = response.headers.get("Retry-After");
    if (response.status === 429 && retry && /^\d+$/.test(retry)) message = `${retry} 秒后可重试。${message}`;
    return { ok: false, status: response.status, code, message };
  }

  function verifyText(text) {
    const body = JSON.stringify({
      document: text,
      use_cause: session.use_cause,
      item_code: session.item_code,
      clerk: session.clerk,
    });
    return call("/v1/verify", body, { "Content-Type": "application/json" });
  }

  function verifyImage(blob, filename) {
    const form = new FormData();
    form.append("file", blob, filename);
    form.append("use_cause", session.use_cause);
    form.append("item_code", session.item_code);
    form.append("clerk", session.clerk);
    return call("/v1/verify/image", form, {});
  }

  // ---------------------------------------------------------------- input: scanner, paste, photo

  function focusScanner() {
    if (!el.workspace.hidden) el.scanInput.focus();
  }

  function setStatus(text) {
    el.scanStatus.textContent = text;
  }

  let pending = 0;
  function busy(delta) {
    pending += delta;
    document.body.classList.toggle("busy", pending > 0);
    if (pending > 0) setStatus("正在核验…");
  }

  async function submitText(raw, via) {
    const text = raw.trim();
    if (!text) return;
    busy(1);
    const answer = await verifyText(text);
    busy(-1);
    if (!answer.ok) {
      showError(answer, via);
    } else {
      const result = answer.data.result;
      if (!result || typeof result !== "object") {
        showError({ status: answer.status, code: "bad_response", message: "" }, via);
      } else {
        const entry = record(result, answer.data.request_id, answer.data.audit_seq, via);
        showEntries([entry], false);
      }
    }
    focusScanner();
  }

  function onScanKey(event) {
    // A scanner gun types the code and then presses Enter: submit at once, then clear for the
    // next scan so that two scans never run together in the field.
    if (event.key === "Enter" && !event.isComposing) {
      event.preventDefault();
      const value = el.scanInput.value;
      el.scanInput.value = "";
      submitText(value, "扫码");
    }
  }

  function onScanPaste(event) {
    const data = event.clipboardData;
    if (!data) return;
    const image = Array.from(data.files || []).find((f) => f.type.startsWith("image/"));
    if (image) {
      event.preventDefault();
      submitImage(image, image.name || "pasted-image", "粘贴图片");
      return;
    }
    const text = data.getData("text/plain");
    // A pasted sealed document is multi-line JSON, which a one-line field would mangle: take
    // it from the clipboard as it is and submit at once.
    if (text && text.trim().startsWith("{")) {
      event.preventDefault();
      el.scanInput.value = "";
      submitText(text, "粘贴");
    }
  }

  async function submitImage(blob, filename, via) {
    busy(1);
    const answer = await verifyImage(blob, filename);
    busy(-1);
    handleImageAnswer(answer, via);
    focusScanner();
  }

  function handleImageAnswer(answer, via) {
    if (!answer.ok) {
      showError(answer, via);
      return false;
    }
    const results = Array.isArray(answer.data.results) ? answer.data.results : [];
    const seqs = Array.isArray(answer.data.audit_seqs) ? answer.data.audit_seqs : [];
    if (!results.length) {
      showError({ status: answer.status, code: "no_qr_code", message: "" }, via);
      return false;
    }
    const entries = results.map((r, i) => record(r, answer.data.request_id, seqs[i], via));
    showEntries(entries, false);
    return true;
  }

  function onPhotoChange() {
    const file = el.photoInput.files && el.photoInput.files[0];
    el.photoInput.value = "";
    if (file) submitImage(file, file.name || "photo", "照片");
  }

  // ---------------------------------------------------------------- camera

  async function startCamera() {
    if (camera) return;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showError({
        status: 0,
        code: "camera_unavailable",
        message: "浏览器不支持摄像头，或页面不是通过 HTTPS / 本机地址打开",
      }, "摄像头");
      return;
    }
    camera = { stream: null, timer: null, busy: false, frames: 0, stopped: false };
    el.camera.hidden = false;
    el.cameraStart.disabled = true;
    el.cameraStatus.textContent = "正在打开摄像头…";
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        // Rear camera when there is one: the clerk points it at the holder's screen or paper.
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      });
    } catch (err) {
      const state = camera;
      stopCamera();
      if (state && state.stopped) return;
      const denied = err && (err.name === "NotAllowedError" || err.name === "SecurityError");
      showError({
        status: 0,
        code: "camera_unavailable",
        message: denied ? "摄像头权限被拒绝" : `未找到可用的摄像头（${err && err.name ? err.name : err}）`,
      }, "摄像头");
      return;
    }
    if (!camera || camera.stopped) {
      stream.getTracks().forEach((t) => t.stop());
      return;
    }
    camera.stream = stream;
    el.cameraVideo.srcObject = stream;
    try {
      await el.cameraVideo.play();
    } catch (_) {
      // Autoplay of a muted stream is allowed; if not, frames still arrive once it plays.
    }
    el.cameraStatus.textContent = "请将二维码对准摄像头…";
    el.cameraStop.focus();
    scheduleFrame(0);
  }

  function scheduleFrame(delay) {
    if (!camera || camera.stopped) return;
    camera.timer = setTimeout(grabFrame, delay);
  }

  function frameBlob() {
    const video = el.cameraVideo;
    const w = video.videoWidth;
    const h = video.videoHeight;
    if (!w || !h) return Promise.resolve(null);
    // Frames are scaled to at most 1280 px wide: enough for a QR code, small to upload.
    const scale = Math.min(1, 1280 / w);
    const canvas = el.canvas;
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
  }

  async function grabFrame() {
    const state = camera;
    if (!state || state.stopped) return;
    const started = Date.now();
    const blob = await frameBlob();
    if (!blob) {
      scheduleFrame(100);
      return;
    }
    state.frames += 1;
    el.cameraStatus.textContent = `正在识别二维码…（已发送 ${state.frames} 帧）`;
    const answer = await verifyImage(blob, "camera-frame.jpg");
    if (state.stopped) return;
    if (!answer.ok && answer.code === "no_qr_code") {
      // No code in this frame yet: keep looking, one frame at a time.
      scheduleFrame(Math.max(0, FRAME_INTERVAL_MS - (Date.now() - started)));
      return;
    }
    stopCamera();
    handleImageAnswer(answer, "摄像头");
    focusScanner();
  }

  function stopCamera() {
    if (!camera) return;
    camera.stopped = true;
    clearTimeout(camera.timer);
    if (camera.stream) camera.stream.getTracks().forEach((t) => t.stop());
    camera = null;
    el.cameraVideo.srcObject = null;
    el.camera.hidden = true;
    el.cameraStart.disabled = false;
  }

  // ---------------------------------------------------------------- results

  function text(value) {
    return value === null || value === undefined ? "" : String(value);
  }

  function displayOf(result) {
    const d = result && typeof result.display === "object" && result.display ? result.display : {};
    const verdict = VERDICTS[d.verdict] ? d.verdict : VERDICTS[result.status] ? result.status : "INDETERMINATE";
    return { ...d, verdict };
  }

  function record(result, requestId, auditSeq, via) {
    const d = displayOf(result);
    // Only what the card shows is kept: the full result (claims with the holder's ID number,
    // every check) stays out of the tab's storage.
    const kept = { status: result.status, validation_time: result.validation_time, display: d };
    const entry = {
      id: `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
      at: new Date().toISOString(),
      via,
      request_id: text(requestId),
      audit_seq: auditSeq === undefined ? null : auditSeq,
      verdict: d.verdict,
      title: text(d.title),
      holder: text(d.holder_name),
      result: kept,
    };
    history.unshift(entry);
    if (history.length > HISTORY_LIMIT) history.length = HISTORY_LIMIT;
    saveHistory();
    renderHistory();
    return entry;
  }

  function timeOf(iso) {
    const t = new Date(iso);
    return Number.isNaN(t.getTime()) ? "" : t.toLocaleTimeString("zh-CN", { hour12: false });
  }

  function dateTimeOf(iso) {
    const t = new Date(iso);
    return Number.isNaN(t.getTime()) ? text(iso) : t.toLocaleString("zh-CN", { hour12: false });
  }

  function noticeOf(d) {
    return d.unverified === true && typeof d.notice_zh === "string" ? d.notice_zh : "";
  }

  function safePicture(url) {
    // Only an inline raster picture: a seal picture never makes the page fetch anything.
    return typeof url === "string" && /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]+$/.test(url)
      ? url
      : null;
  }

  function addFact(dl, label, value) {
    if (!value) return;
    const wrap = document.createElement("div");
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = label;
    dd.textContent = value;
    wrap.append(dt, dd);
    dl.append(wrap);
  }

  function card(entry, again) {
    const node = el.template.content.firstElementChild.cloneNode(true);
    const d = displayOf(entry.result);
    const v = VERDICTS[d.verdict];
    node.classList.add(`verdict-${v.cls}`);
    node.dataset.verdict = d.verdict;
    node.querySelector(".verdict-mark").textContent = v.mark;
    node.querySelector(".verdict-word").textContent = text(d.verdict_zh) || v.word;
    node.querySelector(".verdict-note").textContent = again
      ? `历史记录 · ${timeOf(entry.at)} 核验`
      : `${entry.via} · ${timeOf(entry.at)}`;
    node.querySelector(".card-title").textContent = text(d.title) || "未能识别的证照";
    const holder = node.querySelector(".card-holder");
    holder.textContent = d.holder_name ? `持证主体：${d.holder_name}` : "";
    holder.hidden = !d.holder_name;
    // A licence not shown to be authentic has its content withheld: say so, in place of it.
    const notice = node.querySelector(".card-notice");
    notice.textContent = noticeOf(d);
    notice.hidden = !notice.textContent;

    const reasons = Array.isArray(d.reasons) ? d.reasons : [];
    if (reasons.length) {
      const list = node.querySelector(".reason-list");
      for (const r of reasons) {
        const li = document.createElement("li");
        li.textContent = text(r && (r.message_zh || r.message_en || r.code));
        if (r && r.code) {
          // The stable code and the technical detail, small: for a call to the help desk.
          const code = document.createElement("code");
          code.textContent = r.detail ? `${r.code} · ${r.detail}` : r.code;
          li.append(" ", code);
        }
        list.append(li);
      }
      node.querySelector(".reasons").hidden = false;
    }

    const facts = node.querySelector(".facts");
    addFact(facts, "发证机关", text(d.issuer_name));
    const from = text(d.valid_from);
    const until = text(d.valid_until);
    if (from || until) addFact(facts, "有效期", `${from || "—"} 至 ${until || "—"}`);
    addFact(facts, "证照标识", text(d.licence_id));

    const fields = Array.isArray(d.fields) ? d.fields : [];
    if (fields.length) {
      const dl = node.querySelector(".fields");
      for (const f of fields) addFact(dl, text(f && (f.label || f.key)), text(f && f.value) || "—");
      node.querySelector(".surface").hidden = false;
    }

    const picture = safePicture(d.seal_picture);
    if (picture) {
      const fig = node.querySelector(".seal");
      const img = fig.querySelector("img");
      img.src = picture;
      img.alt = d.issuer_name ? `${d.issuer_name}电子印章` : "电子印章";
      fig.hidden = false;
    }

    const foot = [];
    if (entry.audit_seq !== null && entry.audit_seq !== undefined) foot.push(`留痕序号 ${entry.audit_seq}`);
    if (entry.request_id) foot.push(`请求编号 ${entry.request_id}`);
    if (entry.result && entry.result.validation_time) foot.push(`核验时间 ${dateTimeOf(entry.result.validation_time)}`);
    node.querySelector(".card-foot").textContent = foot.join(" · ");
    return node;
  }

  function clearVerdict() {
    el.verdict.replaceChildren(el.placeholder.cloneNode(true));
  }

  function showEntries(entries, again) {
    el.verdict.replaceChildren(...entries.map((e) => card(e, again)));
    const summary = entries.map((e) => `${e.title || "未能识别的证照"}：${VERDICTS[e.verdict].word}`).join("；");
    setStatus(again ? `显示历史记录：${summary}` : `核验完成：${summary}`);
    if (!again) el.announce.textContent = entries.map(announcement).join("\n");
  }

  function announcement(entry) {
    // What a screen reader says at once: the verdict first, then whose licence and why.
    const d = entry.result.display || {};
    const parts = [`核验结果：${VERDICTS[entry.verdict].word}`];
    if (entry.title) parts.push(entry.title);
    if (entry.holder) parts.push(`持证主体${entry.holder}`);
    const notice = noticeOf(d);
    if (notice) parts.push(notice.replace(/。$/, ""));
    const reasons = Array.isArray(d.reasons) ? d.reasons.map((r) => r && r.message_zh).filter(Boolean) : [];
    if (reasons.length) parts.push(`原因：${reasons.join("；")}`);
    return parts.join("，") + "。";
  }

  function showError(answer, via) {
    const node = document.createElement("article");
    node.className = "card error-card";
    node.setAttribute("role", "alert");
    const head = document.createElement("header");
    head.className = "card-verdict";
    const mark = document.createElement("span");
    mark.className = "verdict-mark";
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = "!";
    const word = document.createElement("span");
    word.className = "verdict-word";
    word.textContent = answer.code === "no_qr_code" ? "未识别到二维码" : "核验未完成";
    const note = document.createElement("span");
    note.className = "verdict-note";
    note.textContent = `${via} · ${timeOf(new Date().toISOString())}`;
    head.append(mark, word, note);
    const body = document.createElement("div");
    body.className = "card-body error-body";
    const p = document.createElement("p");
    p.className = "error-text";
    p.textContent = ERRORS[answer.code] || "核验服务返回错误";
    const detail = document.createElement("p");
    detail.className = "error-detail";
    const code = document.createElement("code");
    code.textContent = answer.status ? `${answer.status} ${answer.code}` : answer.code;
    detail.append("错误代码：", code);
    if (answer.message) detail.append(`　${answer.message}`);
    body.append(p, detail);
    node.append(head, body);
    el.verdict.replaceChildren(node);
    el.announce.textContent = "";
    setStatus(`${via}失败：${p.textContent}（${answer.code}）`);
  }

  function renderHistory() {
    el.historyCount.textContent = String(history.length);
    el.historyEmpty.hidden = history.length > 0;
    const items = history.map((entry) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = `history-item verdict-${VERDICTS[entry.verdict].cls}`;
      button.dataset.id = entry.id;
      button.dataset.verdict = entry.verdict;
      const time = document.createElement("span");
      time.className = "h-time";
      time.textContent = timeOf(entry.at);
      const badge = document.createElement("span");
      badge.className = "h-verdict";
      badge.textContent = VERDICTS[entry.verdict].word;
      const title = document.createElement("span");
      title.className = "h-title";
      title.textContent = entry.title || "未能识别的证照";
      const holder = document.createElement("span");
      holder.className = "h-holder";
      holder.textContent = entry.holder || "—";
      button.append(time, badge, title, holder);
      button.setAttribute("aria-label", `${timeOf(entry.at)} ${title.textContent} ${holder.textContent} ${badge.textContent}，查看详情`);
      li.append(button);
      return li;
    });
    el.historyList.replaceChildren(...items);
  }

  function onHistoryClick(event) {
    const button = event.target.closest("button.history-item");
    if (!button) return;
    const entry = history.find((e) => e.id === button.dataset.id);
    if (entry) showEntries([entry], true);
  }

  // ---------------------------------------------------------------- start

  function init() {
    for (const [name, id] of Object.entries({
      setup: "setup", setupForm: "setup-form", setupClerk: "setup-clerk", setupItem: "setup-item",
      setupCause: "setup-cause", setupKey: "setup-key", setupError: "setup-error",
      setupSubmit: "setup-submit", keyHint: "key-hint", causeCounter: "cause-counter",
      workspace: "workspace", sessionBar: "session-bar", infoClerk: "info-clerk",
      infoItem: "info-item", infoCause: "info-cause", scanInput: "scan-input",
      scanSubmit: "scan-submit", scanStatus: "scan-status", cameraStart: "camera-start",
      camera: "camera", cameraVideo: "camera-video", cameraStatus: "camera-status",
      cameraStop: "camera-stop", photoInput: "photo-input", verdict: "verdict",
      historyList: "history-list", announce: "verdict-announce", historyCount: "history-count", historyEmpty: "history-empty",
      template: "verdict-template",
    })) {
      el[name] = $(id);
    }
    el.canvas = document.createElement("canvas");
    el.placeholder = el.verdict.firstElementChild.cloneNode(true);

    session = load(SESSION_KEY, null);
    if (!validSession(session)) session = null;
    apiKey = text(load(API_KEY, ""));
    const fromLink = keyFromFragment();
    if (fromLink) {
      apiKey = fromLink;
      save(API_KEY, apiKey);
    }
    const saved = load(HISTORY_KEY, []);
    history = Array.isArray(saved) ? saved.filter((e) => e && VERDICTS[e.verdict] && e.result) : [];

    el.setupForm.addEventListener("submit", onSetupSubmit);
    el.setupCause.addEventListener("input", updateCounter);
    el.setupCause.addEventListener("keydown", (event) => {
      // The use cause is one sentence: Enter submits the form, as in the other fields.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        el.setupForm.requestSubmit();
      }
    });
    $("edit-session").addEventListener("click", () => showSetup(""));
    $("end-session").addEventListener("click", endSession);
    el.scanInput.addEventListener("keydown", onScanKey);
    el.scanInput.addEventListener("paste", onScanPaste);
    el.scanSubmit.addEventListener("click", () => {
      const value = el.scanInput.value;
      el.scanInput.value = "";
      submitText(value, "扫码");
    });
    el.cameraStart.addEventListener("click", startCamera);
    el.cameraStop.addEventListener("click", () => {
      stopCamera();
      setStatus("摄像头已关闭");
      focusScanner();
    });
    el.photoInput.addEventListener("change", onPhotoChange);
    // The label acts as the photo button: Enter and Space open the file chooser from the keyboard.
    const photoLabel = $("photo-label");
    photoLabel.tabIndex = 0;
    photoLabel.setAttribute("role", "button");
    photoLabel.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        el.photoInput.click();
      }
    });
    el.historyList.addEventListener("click", onHistoryClick);
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !el.workspace.hidden) {
        stopCamera();
        focusScanner();
      }
    });
    window.addEventListener("pagehide", stopCamera);

    if (session && apiKey) showWorkspace();
    else showSetup("");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
