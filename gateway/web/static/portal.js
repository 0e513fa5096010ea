// Vietnamese messages for the browser's own form checks (the server checks everything again),
// and a progress bar while attachments upload. Served by the gateway; no external scripts.
(function () {
  "use strict";
  function message(el) {
    var v = el.validity;
    if (v.valueMissing) return el.type === "file" ? "Vui lòng chọn tệp." : "Vui lòng nhập thông tin này.";
    if (v.typeMismatch) return el.type === "email" ? "Địa chỉ thư điện tử không hợp lệ." : "Giá trị không hợp lệ.";
    if (v.patternMismatch) return "Sai định dạng" + (el.getAttribute("aria-describedby") ? ": xem gợi ý bên trên." : ".");
    if (v.tooShort) return "Cần ít nhất " + el.minLength + " ký tự.";
    if (v.tooLong) return "Tối đa " + el.maxLength + " ký tự.";
    if (v.rangeUnderflow || v.rangeOverflow || v.badInput) return "Giá trị không hợp lệ.";
    return "";
  }
  document.addEventListener("invalid", function (e) { e.target.setCustomValidity(message(e.target)); }, true);
  document.addEventListener("input", function (e) { if (e.target.setCustomValidity) e.target.setCustomValidity(""); }, true);
  document.addEventListener("change", function (e) { if (e.target.setCustomValidity) e.target.setCustomValidity(""); }, true);
  // Before the browser checks a form again, forget the previous messages (a value set by a
  // script or an autofill fires no input event).
  document.addEventListener("click", function (e) {
    var button = e.target.closest ? e.target.closest("button[type=submit], input[type=submit]") : null;
    if (!button || !button.form) return;
    Array.prototype.forEach.call(button.form.elements, function (el) { if (el.setCustomValidity) el.setCustomValidity(""); });
  }, true);
  // Files a refused form had: the answer's page gets them back in its file inputs (a browser never
  // lets a page choose files by itself, but one input's FileList may be handed to another).
  function keepFiles(form, doc) {
    Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (old) {
      var again = doc.getElementById(old.id);
      if (!again || !old.files || !old.files.length) return;
      try { again.files = old.files; } catch (err) { return; }
      var note = doc.getElementById(old.id + "-chon-lai");
      if (note) note.textContent = "Đã giữ tệp đã chọn: " + old.files[0].name + ".";
    });
  }
  document.addEventListener("submit", function (e) {
    var form = e.target, bar = form.querySelector("progress");
    if (!bar || !window.XMLHttpRequest || !window.FormData || !window.DOMParser) return;
    e.preventDefault();
    var xhr = new XMLHttpRequest();
    bar.hidden = false;
    xhr.upload.onprogress = function (p) { if (p.lengthComputable) bar.value = Math.round(100 * p.loaded / p.total); };
    xhr.onload = function () {
      var sent = new URL(form.action, location.href).href;
      if (xhr.responseURL && xhr.responseURL !== sent) { location.assign(xhr.responseURL); return; }
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      keepFiles(form, doc);
      document.title = doc.title;
      document.body.replaceWith(document.adoptNode(doc.body));
      var summary = document.getElementById("loi-nop");
      if (summary) summary.focus(); else window.scrollTo(0, 0);
    };
    xhr.onerror = function () { bar.hidden = true; form.submit(); };
    xhr.open(form.method, form.action);
    xhr.send(new FormData(form));
  });
})();
