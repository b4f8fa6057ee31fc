"""The built-in themes, one TOML file each, read by vmconsole.ui.themes: installed as the
package vmconsole.themes (the package-dir mapping in pyproject.toml)."""
