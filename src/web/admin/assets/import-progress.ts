/**
 * Progressive enhancement of an import's page (it works without: a "Vernieuwen" link): while the
 * import runs, the progress bar follows the status every two seconds, and the page reloads once
 * the import has finished, showing the counts. Served as a same-origin script (the CSP allows no
 * inline script); kept as a string so that every runtime can serve it without a file system.
 */
export const IMPORT_PROGRESS_SCRIPT = `'use strict';
(function () {
  var box = document.querySelector('[data-import-status]');
  if (!box) return;
  var url = box.getAttribute('data-import-status');
  var bar = box.querySelector('progress');
  var text = box.querySelector('[data-progress-text]');
  function later() {
    window.setTimeout(poll, 2000);
  }
  function poll() {
    fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (res) {
        return res.ok ? res.json() : null;
      })
      .then(function (status) {
        if (!status) return later();
        bar.max = Math.max(status.total, 1);
        bar.value = status.processed;
        bar.textContent = status.progressText;
        text.textContent = status.progressText;
        if (status.status === 'done' || status.status === 'failed') window.location.reload();
        else later();
      })
      .catch(later);
  }
  later();
})();
`;
