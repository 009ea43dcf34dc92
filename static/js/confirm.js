// Ask before sending a form marked data-confirm (removing an item cannot be undone). Without
// JavaScript the form is sent at once, and the page that follows says what was removed.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
