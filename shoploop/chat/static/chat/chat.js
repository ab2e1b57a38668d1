// Live chat on the conversation page (templates/chat/conversation.html).
// Without this script the page still works: the form posts, a reload shows new messages.
// Protocol: docs/chat.md. Messages carry a per-conversation `seq`; the page keeps the highest it
// has shown and, after a reconnect, subscribes "after" it, so nothing is lost or shown twice.
(function () {
  "use strict";

  var list = document.getElementById("chat-messages");
  if (!list || list.dataset.live !== "1" || !("WebSocket" in window)) return;

  var conversation = list.dataset.conversation;
  var me = list.dataset.me;
  var lastSeq = parseInt(list.dataset.lastSeq || "0", 10);
  var form = document.getElementById("chat-form");
  var status = document.getElementById("chat-status");
  var socket = null;
  var retry = 0;
  var nextRef = 1;
  var readTimer = null;
  var pending = {}; // ref → text sent over the socket and not yet confirmed

  function say(text) {
    if (status) status.textContent = text || "";
  }

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 120;
  }

  function render(message) {
    var item = document.createElement("li");
    item.className = "chat-message" + (message.sender.id === me ? " is-mine" : "");
    item.id = "m-" + message.seq;
    item.dataset.seq = String(message.seq);
    var meta = document.createElement("span");
    meta.className = "muted chat-meta";
    var when = new Date(message.created_at);
    // The sender's name links to their profile, as on the server-rendered messages.
    if (message.sender.id) {
      var name = document.createElement("a");
      name.className = "person";
      name.href = "/u/" + encodeURIComponent(message.sender.id) + "/";
      name.textContent = message.sender.name;
      meta.appendChild(name);
    } else {
      meta.appendChild(document.createTextNode(message.sender.name));
    }
    meta.appendChild(document.createTextNode(" · " +
      when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })));
    item.appendChild(meta);
    if (message.removed) {
      var gone = document.createElement("p");
      gone.className = "muted chat-text";
      gone.textContent = list.dataset.removedLabel;
      item.appendChild(gone);
      return item;
    }
    if (message.text) {
      var text = document.createElement("p");
      text.className = "chat-text";
      text.textContent = message.text; // never innerHTML: user text is shown as typed
      item.appendChild(text);
    }
    if (message.image_url) {
      var image = document.createElement("img");
      image.className = "chat-image";
      image.src = message.image_url;
      image.width = message.width;
      image.height = message.height;
      image.alt = list.dataset.pictureLabel;
      item.appendChild(image);
    }
    return item;
  }

  function markRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      send({ type: "read", conversation: conversation, seq: lastSeq });
    }, 300);
  }

  function show(message) {
    if (message.conversation !== conversation || message.seq <= lastSeq) return;
    var stick = nearBottom();
    var empty = document.getElementById("chat-empty");
    if (empty) empty.remove();
    list.appendChild(render(message));
    lastSeq = message.seq;
    list.dataset.lastSeq = String(lastSeq);
    if (stick || message.sender.id === me) window.scrollTo(0, document.body.scrollHeight);
    if (!document.hidden) markRead();
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + "/ws/chat/");
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "ready") {
        retry = 0;
        send({ type: "subscribe", conversation: conversation, after_seq: lastSeq });
      } else if (frame.type === "subscribed") {
        list.dataset.connected = "1";
        say("");
      } else if (frame.type === "message") {
        show(frame.message);
      } else if (frame.type === "state" && frame.removed) {
        var removed = document.getElementById("m-" + frame.seq);
        if (removed) removed.replaceWith(render({
          seq: frame.seq, removed: true, conversation: conversation,
          sender: { id: "", name: (removed.querySelector(".chat-meta") || {}).textContent || "" },
          created_at: new Date().toISOString()
        }));
      } else if (frame.type === "state" && frame.closed) {
        window.location.reload();
      } else if (frame.type === "sent") {
        delete pending[frame.ref];
      } else if (frame.type === "error") {
        say(frame.message);
        // A refused message (too long, rate limited, room closed…) goes back into the box.
        var text = form && form.querySelector("textarea[name=text]");
        if (frame.ref in pending && text && !text.value) text.value = pending[frame.ref];
        delete pending[frame.ref];
      }
    };
    socket.onclose = function () {
      list.dataset.connected = "0";
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * Math.pow(2, retry - 1));
    };
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      var text = form.querySelector("textarea[name=text]");
      var file = form.querySelector("input[type=file]");
      // Pictures go with the ordinary form post (multipart); text goes over the socket.
      if (!text || !text.value.trim() || (file && file.files.length)) return;
      var ref = nextRef++;
      if (send({ type: "send", conversation: conversation, text: text.value, ref: ref })) {
        pending[ref] = text.value;
        event.preventDefault();
        text.value = "";
        say("");
      }
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) markRead();
  });
  connect();
})();
