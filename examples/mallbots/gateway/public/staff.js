// The staff page: live orders and bots from the gateway's /staff/live stream. A plain ES module, no
// framework: the state is two maps, each change re-renders one row. The staff key comes from ?key=
// (then kept in sessionStorage and taken out of the address bar) or from the form.

const KEY = "mallbots-staff-key";
const STREAM_ID = 1;
/** An order's status only moves forward (the snapshot and a live event may both tell the same step). */
const RANK = { placed: 0, paid: 1, ready: 2, "picked-up": 3, cancelled: 4 };
const ORDER_EVENTS = {
  "mallbots.orders.order-placed": "placed",
  "mallbots.orders.order-paid": "paid",
  "mallbots.orders.order-ready": "ready",
  "mallbots.orders.order-picked-up": "picked-up",
  "mallbots.orders.order-cancelled": "cancelled",
};

const orders = new Map();
const bots = new Map();
const $ = (selector) => document.querySelector(selector);

function readKey() {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get("key");
  if (fromUrl) {
    sessionStorage.setItem(KEY, fromUrl);
    url.searchParams.delete("key");
    history.replaceState(null, "", url);
  }
  return sessionStorage.getItem(KEY);
}

function status(text, state) {
  const element = $("#connection");
  element.textContent = text;
  element.dataset.state = state;
}

const money = (cents) => (typeof cents === "number" ? (cents / 100).toFixed(2) : "");
const clock = (time) => (time ? new Date(time).toLocaleTimeString() : "");

/** The store a bot is at: the first stop of its task it has not shopped yet. */
function currentStore(bot) {
  if (!bot.taskId) return "";
  const next = bot.stops.find((stop) => !bot.shoppedStores.includes(stop.storeId));
  return next ? `${next.storeName} (${next.location})` : "back to the depot";
}

function cells(row, values) {
  while (row.cells.length < values.length) row.insertCell();
  values.forEach(([text, attribute], i) => {
    const cell = row.cells[i];
    cell.textContent = text;
    if (attribute) cell.dataset.status = text;
  });
}

function rowOf(table, attribute, id) {
  const body = $(`${table} tbody`);
  let row = [...body.rows].find((r) => r.dataset[attribute] === id);
  if (!row) {
    row = document.createElement("tr");
    row.dataset[attribute] = id;
    body.prepend(row);
  }
  return row;
}

function renderOrder(order) {
  cells(rowOf("#orders", "orderId", order.orderId), [
    [order.orderId],
    [order.customerId ?? ""],
    [money(order.total)],
    [order.status, true],
    [order.botId ?? ""],
    [clock(order.updatedAt)],
  ]);
}

function renderBot(bot) {
  const shown = bot.status === "busy" || bot.taskId ? "shopping" : bot.status;
  cells(rowOf("#bots", "botId", bot.botId), [
    [bot.botId],
    [shown, true],
    [bot.orderId ?? bot.taskId ?? ""],
    [currentStore(bot)],
  ]);
}

function updateOrder(orderId, change) {
  const order = orders.get(orderId) ?? { orderId, status: "placed", botId: null };
  if (change.status && RANK[change.status] < RANK[order.status]) delete change.status;
  Object.assign(order, change);
  orders.set(orderId, order);
  renderOrder(order);
}

function updateBot(botId, change) {
  const bot = bots.get(botId) ?? {
    botId,
    status: "idle",
    taskId: null,
    orderId: null,
    stops: [],
    shoppedStores: [],
  };
  Object.assign(bot, change);
  bots.set(botId, bot);
  renderBot(bot);
}

const IDLE = { status: "idle", taskId: null, orderId: null, stops: [], shoppedStores: [] };

function apply({ type, time, data }) {
  const orderStatus = ORDER_EVENTS[type];
  if (orderStatus) {
    const change = { status: orderStatus, updatedAt: time };
    if (type === "mallbots.orders.order-placed")
      Object.assign(change, { customerId: data.customerId, total: data.total });
    updateOrder(data.orderId, change);
    return;
  }
  switch (type) {
    case "mallbots.depot.bot-dispatched":
      updateBot(data.botId, {
        status: "busy",
        taskId: data.taskId,
        orderId: data.orderId,
        stops: data.stops,
        shoppedStores: [],
      });
      updateOrder(data.orderId, { botId: data.botId, updatedAt: time });
      break;
    case "mallbots.depot.stop-shopped": {
      const bot = bots.get(data.botId);
      if (bot?.taskId === data.taskId)
        updateBot(data.botId, { shoppedStores: [...bot.shoppedStores, data.storeId] });
      break;
    }
    case "mallbots.depot.shopping-completed":
    case "mallbots.depot.bot-recalled":
      if (bots.get(data.botId)?.taskId === data.taskId) updateBot(data.botId, IDLE);
      break;
  }
}

function onMessage(message) {
  if (message.type === "snapshot") {
    orders.clear();
    bots.clear();
    $("#orders tbody").replaceChildren();
    $("#bots tbody").replaceChildren();
    // Oldest first, so the newest ends on top (rows are prepended).
    for (const order of [...message.orders].reverse()) updateOrder(order.orderId, order);
    for (const bot of message.bots) updateBot(bot.botId, bot);
  } else if (message.type === "event") apply(message.event);
  else if (message.type === "bot") {
    // Online: idle, unless it still holds a task (a reconnect); offline: Depot requeues its task.
    const holding = bots.get(message.botId)?.taskId;
    if (!message.online) updateBot(message.botId, { ...IDLE, status: "offline" });
    else if (!holding) updateBot(message.botId, IDLE);
  }
}

let retryMs = 500;

function connect(key) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(
    `${scheme}://${location.host}/staff/live?access_token=${encodeURIComponent(key)}`,
  );
  let opened = false;
  socket.addEventListener("open", () => {
    opened = true;
    retryMs = 500;
    socket.send(JSON.stringify({ id: STREAM_ID, data: { type: "subscribe" } }));
  });
  socket.addEventListener("message", (frame) => {
    const message = JSON.parse(frame.data);
    if (message.id !== STREAM_ID) return;
    if (message.data) {
      if (message.data.type === "snapshot") status("Live", "live");
      onMessage(message.data);
    } else socket.close(); // a problem or the end: start over with a new snapshot
  });
  socket.addEventListener("close", () => {
    if (!opened) {
      // Refused at the upgrade (a wrong key) or the gateway is down: ask again, and keep trying.
      status("Cannot connect: check the staff key, or the gateway is down", "down");
      $("#key-form").hidden = false;
    } else status("Reconnecting…", "down");
    setTimeout(() => connect(sessionStorage.getItem(KEY) ?? key), retryMs);
    retryMs = Math.min(retryMs * 2, 10_000);
  });
}

$("#key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, $("#key").value);
  $("#key-form").hidden = true;
  location.reload();
});

const key = readKey();
if (key) connect(key);
else {
  status("Enter the staff key", "down");
  $("#key-form").hidden = false;
}
