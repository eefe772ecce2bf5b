/* gridmap, the diary (/diary/): the "Print" button (no inline script under the CSP). */
const button = document.querySelector('[data-action="print"]');
if (button) {
  button.addEventListener("click", function () {
    window.print();
  });
}
