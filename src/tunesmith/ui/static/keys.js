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
