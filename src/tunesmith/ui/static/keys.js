// tunesmith ui: keyboard shortcuts, in a few lines of plain JavaScript.
// An element with data-key="a" (or a space-separated list, "j ArrowRight") is clicked when that
// key is pressed outside a text field; data-focus="#id" then focuses that element. In a text
// field, Enter clicks the element named by its data-submit, and Escape leaves the field.
document.addEventListener("keydown", (event) => {
  const field = event.target.closest && event.target.closest("input, textarea, select");
  if (field) {
    if (event.key === "Escape") {
      field.blur();
    } else if (event.key === "Enter" && field.dataset.submit && field.tagName !== "TEXTAREA") {
      event.preventDefault();
      document.getElementById(field.dataset.submit)?.click();
    }
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = document.querySelector(`[data-key~="${CSS.escape(event.key)}"]`);
  if (!target) return;
  event.preventDefault();
  target.click();
  if (target.dataset.focus) setTimeout(() => document.querySelector(target.dataset.focus)?.focus());
});
// htmx keeps the focus on a field whose id is in the new panel too: after a decision the keys
// go to the next record again, not into the reason or edit field of the one just decided.
document.addEventListener("htmx:afterSettle", () => {
  const focused = document.activeElement;
  if (focused && focused.dataset && focused.dataset.submit) focused.blur();
});
