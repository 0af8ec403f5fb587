"""The tutorial's app (docs/tutorial.md): the bootstrap app, laid out anew, with a member
discount added: one more widget and the callback it drives."""

import numerous.widgets as wi

from numerous.apps import create_app

PRICES = {"Apples": 1.2, "Pears": 1.5, "Plums": 2.1}


def run_app():
    # Each browser session calls run_app() on its own thread and gets its own widgets.
    counter = wi.Number(default=0, label="Clicks:", fit_to_content=True)
    button = wi.Button(label="Click me", on_click=lambda event: add_click())
    name = wi.String(label="Your name:", default="", placeholder="Type your name")
    greeting = wi.Text(value="Hello!")
    fruit = wi.DropDown(options=list(PRICES), label="Fruit:")
    quantity = wi.Slider(label="Quantity:", min_value=0, max_value=20, step=1, default=3)
    member = wi.CheckBox(label="Member: 10% off")
    total = wi.Text(value="")
    basket = wi.Table(data=[], columns=[{"accessorKey": "fruit", "header": "Fruit"},
                                        {"accessorKey": "quantity", "header": "Quantity"},
                                        {"accessorKey": "cost", "header": "Cost"}])

    def add_click():
        counter.value += 1

    def greet(change=None):
        greeting.value = f"Hello, {name.value}!" if name.value else "Hello!"

    def update_order(change=None):
        # One callback updating several widgets.
        cost = PRICES[fruit.selected_value] * quantity.value
        if member.value:
            cost *= 0.9
        discount = " (member price)" if member.value else ""
        total.value = f"{quantity.value:g} × {fruit.selected_value} = {cost:.2f}{discount}"
        basket.data = [{"fruit": fruit.selected_value, "quantity": quantity.value,
                        "cost": f"{cost:.2f}"}]

    name.observe(greet, names="value")
    fruit.observe(update_order, names="selected_value")
    quantity.observe(update_order, names="value")
    member.observe(update_order, names="value")
    update_order()

    return {"counter": counter, "button": button, "name": name, "greeting": greeting,
            "fruit": fruit, "quantity": quantity, "member": member, "total": total,
            "basket": basket}


app = create_app(template="index.html.j2", dev=True, app_generator=run_app)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
