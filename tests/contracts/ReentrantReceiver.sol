// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ReentrantReceiver
/// @notice Test-only attacker. It acts as a participant (`execute` makes any call as itself) and,
///         when tokens or certificates arrive, calls `target` with `reentry` (a call back into
///         the contract that is paying it), bubbling up that call's revert. It can also answer the
///         certificate hook with a wrong value. Never deploy outside tests.
contract ReentrantReceiver {
    address public target;
    bytes public reentry;
    bool public answerWrongly;
    uint256 public hooksSeen;

    /// @notice Sets the call made from inside the next hooks (empty `data` makes none).
    /// @param target_ The contract to re-enter.
    /// @param data The calldata to send it.
    function arm(address target_, bytes calldata data) external {
        target = target_;
        reentry = data;
    }

    /// @notice Makes the certificate hook return a wrong selector (or the right one again).
    /// @param wrong True to answer wrongly.
    function setAnswerWrongly(bool wrong) external {
        answerWrongly = wrong;
    }

    /// @notice Calls `to` with `data` as this contract, bubbling up a revert.
    /// @param to The contract to call.
    /// @param data The calldata.
    /// @return The call's return data.
    function execute(address to, bytes calldata data) external returns (bytes memory) {
        (bool ok, bytes memory result) = to.call(data);
        if (!ok) _bubble(result);
        return result;
    }

    /// @notice HookToken's receive hook: re-enters if armed.
    function tokensReceived(address, uint256) external {
        _reenter();
    }

    /// @notice GreenCertificates' receive hook: re-enters if armed, then accepts (or answers wrongly).
    /// @return The hook's selector, or a wrong value.
    function onCertificateReceived(address, address, uint256, uint256, bytes calldata) external returns (bytes4) {
        _reenter();
        return answerWrongly ? bytes4(0xdeadbeef) : this.onCertificateReceived.selector;
    }

    function _reenter() private {
        hooksSeen += 1;
        if (reentry.length == 0) return;
        (bool ok, bytes memory result) = target.call(reentry);
        if (!ok) _bubble(result);
    }

    function _bubble(bytes memory result) private pure {
        assembly ("memory-safe") {
            revert(add(result, 0x20), mload(result))
        }
    }
}
