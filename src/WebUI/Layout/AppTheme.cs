using MudBlazor;

namespace TLoRA.WebUI.Layout;

/// <summary>The one MudBlazor theme of every layout (the app and the sign-in page).</summary>
public static class AppTheme
{
    // The system font stack: no web font is fetched (the machine may have no internet).
    public static readonly MudTheme Theme = new()
    {
        Typography = new Typography
        {
            Default = new DefaultTypography
            {
                FontFamily = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"],
            },
        },
        // colours chosen for WCAG AA contrast (4.5:1) of text on them and of them as text (axe-core checks it)
        PaletteLight = new PaletteLight
        {
            Primary = "#4338ca", AppbarBackground = "#312e81", TextSecondary = "rgba(0,0,0,0.68)",
            Secondary = "#9d174d", Info = "#1565c0", Success = "#2e7d32", Warning = "#a14a00", Error = "#c62828",
        },
        PaletteDark = new PaletteDark
        {
            Primary = "#a5b4fc", PrimaryContrastText = "#111827", AppbarBackground = "#1e1b4b",
            Secondary = "#f9a8d4", SecondaryContrastText = "#111827", Info = "#90caf9", InfoContrastText = "#111827", Success = "#81c784", SuccessContrastText = "#111827",
            Warning = "#ffb74d", WarningContrastText = "#111827", Error = "#ef9a9a", ErrorContrastText = "#111827",
        },
    };
}
