using TLoRA.WebUI.State;

namespace TLoRA.WebUI.Tests.State;

public sealed class DisplayTests
{
    [Theory]
    [InlineData(null, "—")]
    [InlineData(-1.0, "—")]
    [InlineData(double.NaN, "—")]
    [InlineData(42.4, "42 s")]
    [InlineData(185.0, "3 min 05 s")]
    [InlineData(3720.0, "1 h 02 min")]
    public void Durations(double? seconds, string expected) => Assert.Equal(expected, Display.Duration(seconds));

    [Theory]
    [InlineData(null, "—")]
    [InlineData(2.5, "2.5 steps/s")]
    [InlineData(0.25, "4.0 s/step")]
    public void Rates(double? rate, string expected) => Assert.Equal(expected, Display.Rate(rate));
}
