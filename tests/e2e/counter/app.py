import numerous.widgets as wi
from numerous.apps import create_app

def run_app():
    counter = wi.Number(default=0, label="Counter:", fit_to_content=True)
    def on_click(event):
        counter.value += 1
    button = wi.Button(label="Click me", on_click=on_click)
    return {"counter": counter, "button": button}

app = create_app(template="index.html.j2", dev=True, app_generator=run_app)

if __name__ == "__main__":
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=8000)
