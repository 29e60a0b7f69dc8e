// Browser notifications for a finished video, shown only while the tab is in the background.

// Asked on the click that starts a job: browsers only allow the question after a user gesture.
export function askToNotify() {
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().catch(() => {});
  }
}

export function notifyFinished(job) {
  if (!document.hidden || !("Notification" in window)) return;
  if (Notification.permission !== "granted") return;
  const ok = job.status === "succeeded";
  const notification = new Notification(ok ? "Your video is ready" : `Your video ${job.status}`, {
    body: ok ? "Open Skyie Studio to watch and download it." : job.message || "",
    icon: "/static/favicon.svg",
    tag: job.job_id,
  });
  notification.addEventListener("click", () => {
    window.focus();
    notification.close();
  });
}
