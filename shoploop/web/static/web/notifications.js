// The notification bell, live: a WebSocket to /ws/notifications/ keeps the unread count in the
// top bar current and puts new notifications at the top of the inbox page. Without JavaScript the
// server-rendered count and a reload do the same. Protocol: docs/notifications.md.
(function () {
  "use strict";
  var bell = document.querySelector("[data-notifications-ws]");
  if (!bell || !window.WebSocket) {
    return;
  }
  var badge = bell.querySelector("[data-unread]");
  var list = document.querySelector("[data-notifications-list]");
  var retry = 1000;

  function setUnread(count) {
    if (!badge) {
      return;
    }
    badge.textContent = String(count);
    badge.classList.toggle("is-zero", !count);
    var template = bell.getAttribute("data-label-template");
    if (template) {
      bell.setAttribute("aria-label", template.replace("{count}", String(count)));
    }
  }

  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function pad(number) {
    return number < 10 ? "0" + number : String(number);
  }

  function formatTime(iso) {
    var moment = new Date(iso);
    if (isNaN(moment.getTime())) {
      return "";
    }
    return moment.getFullYear() + "-" + pad(moment.getMonth() + 1) + "-" + pad(moment.getDate()) +
      " " + pad(moment.getHours()) + ":" + pad(moment.getMinutes());
  }

  function prepend(item) {
    if (!list || list.querySelector("[data-id='" + item.id + "']")) {
      return;
    }
    var empty = list.querySelector("[data-notifications-empty]");
    if (empty) {
      empty.remove();
    }
    var li = document.createElement("li");
    li.className = "notif is-unread";
    li.setAttribute("data-id", item.id);
    var form = document.createElement("form");
    form.method = "post";
    form.action = list.getAttribute("data-open-url").replace("ID", item.id);
    var token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrfmiddlewaretoken";
    token.value = csrfToken();
    var button = document.createElement("button");
    button.type = "submit";
    button.className = "notif-open";
    var text = document.createElement("span");
    text.className = "notif-text";
    text.textContent = item.text;
    var when = document.createElement("time");
    when.className = "muted";
    when.setAttribute("datetime", item.created_at);
    when.textContent = formatTime(item.created_at);
    button.appendChild(text);
    button.appendChild(when);
    form.appendChild(token);
    form.appendChild(button);
    li.appendChild(form);
    list.insertBefore(li, list.firstChild);
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + bell.getAttribute("data-notifications-ws"));
    var heartbeat = null;
    socket.addEventListener("open", function () {
      retry = 1000;
      bell.setAttribute("data-live", "on");
      // A page someone is looking at keeps them "here" (no SMS while they read the site).
      heartbeat = window.setInterval(function () {
        if (document.visibilityState === "visible" && socket.readyState === WebSocket.OPEN) {
          socket.send(JSON.stringify({type: "here"}));
        }
      }, 60000);
    });
    socket.addEventListener("message", function (event) {
      var data;
      try {
        data = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (typeof data.unread === "number") {
        setUnread(data.unread);
      }
      if (data.type === "notification" && data.notification) {
        prepend(data.notification);
      }
    });
    socket.addEventListener("close", function (event) {
      bell.removeAttribute("data-live");
      if (heartbeat) {
        window.clearInterval(heartbeat);
      }
      if (event.code === 4401) {
        return; // signed out: nothing to listen to
      }
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 30000);
    });
  }

  connect();
})();
