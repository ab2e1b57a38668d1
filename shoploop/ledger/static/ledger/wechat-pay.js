// WeChat Pay inside WeChat's browser: hand the server-signed parameters to the JS bridge, then go
// back to the payment's page (the server learns the outcome from WeChat, never from this script).
(function () {
  function pay() {
    var data = document.getElementById("wechat-jsapi");
    if (!data || typeof WeixinJSBridge === "undefined") return;
    var params = JSON.parse(data.textContent);
    WeixinJSBridge.invoke("getBrandWCPayRequest", params, function () {
      location.href = location.pathname + "?returned=1";
    });
  }
  if (typeof WeixinJSBridge === "undefined") {
    document.addEventListener("WeixinJSBridgeReady", pay, false);
  } else {
    pay();
  }
})();
