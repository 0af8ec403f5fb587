"""A sign-up form that checks its input in Python and says what to fix, field by field.

    numerous dev app.py     # serves http://127.0.0.1:8000
    python -m pytest        # its tests, in-process
"""

import re

import numerous.widgets as wi

from numerous.apps import create_app

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)


def problems(name: str, email: str, age: float, agreed: bool) -> list[str]:
    """What is wrong with the form, one sentence per field; empty when it may be sent."""
    found = []
    if len(name.strip()) < 2:
        found.append("Name: at least two letters.")
    if not EMAIL.match(email.strip()):
        found.append("Email: an address like ada@example.org.")
    if not 16 <= age <= 120:
        found.append("Age: between 16 and 120.")
    if not agreed:
        found.append("Terms: please accept them.")
    return found


def run_app():
    name = wi.String(label="Name:", placeholder="Ada Lovelace")
    email = wi.String(label="Email:", placeholder="ada@example.org")
    age = wi.Number(label="Age:", default=0, start=0, stop=200, step=1)
    agreed = wi.CheckBox(label="I accept the terms")
    send = wi.Button(label="Sign up", variant="primary")
    feedback = wi.MarkdownDisplay(content="")
    signed_up = []  # this session's sign-ups (a real app would store them)

    def submit(event):
        found = problems(name.value, email.value, age.value, agreed.value)
        if found:
            feedback.content = "**Please fix:**\n\n" + "\n".join(f"- {p}" for p in found)
            return
        signed_up.append(email.value.strip())
        feedback.content = f"**Welcome, {name.value.strip()}!** A mail is on its way to " \
                           f"{email.value.strip()}."
        name.value, email.value, age.value, agreed.value = "", "", 0, False

    send.on_click = submit
    return {"name": name, "email": email, "age": age, "agreed": agreed, "send": send,
            "feedback": feedback}


app = create_app(template="index.html.j2", dev=True, app_generator=run_app)

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=8000)
