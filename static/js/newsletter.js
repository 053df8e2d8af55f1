// The footer subscribe form sits on cached pages, so it cannot carry a per-visitor CSRF
// token. On submit, fetch one (this also sets the CSRF cookie) and then send the form.
// Without JavaScript the server answers with its own form, pre-filled, to submit once more.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-newsletter-form")) return;
  const field = form.querySelector("input[name=csrfmiddlewaretoken]");
  if (!field || field.value) return;
  event.preventDefault();
  try {
    const response = await fetch(form.dataset.csrfUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    field.value = (await response.json()).token;
  } catch (error) {
    // Leave the field empty: the server will ask to submit once more.
  }
  form.submit();
});
