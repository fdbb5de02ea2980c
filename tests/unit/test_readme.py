from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


def test_the_readme_opens_with_the_demo_and_the_test_commands():
    demo, tests = readme_commands()
    assert demo.startswith("python3.11 -m venv .venv") and demo.endswith("sfa demo")
    assert tests.startswith("python3.11 -m venv .venv") and tests.endswith("pytest")


def test_ci_runs_the_readme_test_command_with_postgresql():
    ci = (ROOT / ".ci" / "run").read_text()
    assert readme_commands()[1] in ci.splitlines()
    assert "SFA_TEST_POSTGRES_URL" in ci
