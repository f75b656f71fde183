// Progressive enhancement of the discussion: reply in place instead of on a separate page.
// Without this file, the "Reply" link opens a page with the same form.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-reply-to]");
  const template = document.getElementById("comment-reply-template");
  if (!link || !template) {
    return;
  }
  event.preventDefault();
  const id = link.dataset.replyTo;
  const holder = link.closest(".comment-actions");
  let form = holder.querySelector("form.comment-reply-form");
  if (!form) {
    form = template.content.firstElementChild.cloneNode(true);
    form.querySelector("input[name=parent_id]").value = id;
    form.querySelectorAll("[id]").forEach((el) => {
      el.id = `${el.id}-${id}`;
    });
    form.querySelectorAll("[for]").forEach((el) => {
      el.htmlFor = `${el.htmlFor}-${id}`;
    });
    form.querySelectorAll("[aria-describedby]").forEach((el) => {
      const refs = el.getAttribute("aria-describedby").split(" ");
      el.setAttribute("aria-describedby", refs.map((ref) => `${ref}-${id}`).join(" "));
    });
    holder.append(form);
    link.setAttribute("aria-expanded", "true");
  }
  form.querySelector("textarea").focus();
});
