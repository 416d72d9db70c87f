// A paper letter's QR code opens /kode#CODE. The code is filled in here and
// taken out of the address at once: a fragment is never sent to a server or
// a proxy (so never logged), and replaceState keeps it out of the history.
// Without JavaScript the page works as before: the code is typed.
(function () {
  var code = decodeURIComponent(location.hash.slice(1));
  if (!code) return;
  history.replaceState(null, "", location.pathname + location.search);
  var input = document.getElementById("kode");
  if (input && /^[A-Za-z0-9 -]{1,24}$/.test(code)) input.value = code.toUpperCase();
})();
